package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Output paths relative to -out.
const (
	fileEntities     = "gazetteer/entities.ndjson"
	fileAgreements   = "agreements.ndjson"
	fileTrade        = "trade.ndjson"
	fileOtherFigures = "other_figures.ndjson"
	fileReadme       = "README.md"
	dirBook          = "book"
)

// skipped is a book trade row that is not loaded, with the reason.
type skipped struct {
	ID, Flow, Reason string
}

// summary is what a conversion produced; the README is written from it.
type summary struct {
	BookEntities, BookAgreements, BookTrade, BookOtherFigures int
	Entities, Agreements, Trade, OtherFigures                 int
	Added                                                     []*bilatv1.Entity
	Skipped                                                   []skipped
	Ambiguous                                                 [][2]string
	BookFiles                                                 []string
	// Gazetteer figures: entities the world data added, entities per kind,
	// aliases in all, the iso-codes version, subdivisions with a centre,
	// subdivisions that are cities, first-level subdivisions in all.
	WorldAdded, Aliases, Centres, CityRegions, Subdivisions int
	Countries, Regions, Cities, Blocs, Orgs                 int
	Kinds                                                   map[bilatv1.EntityKind]int
	ISOVersion                                              string
}

const (
	kindCountry = bilatv1.EntityKind_ENTITY_KIND_COUNTRY
	kindRegion  = bilatv1.EntityKind_ENTITY_KIND_REGION
	kindCity    = bilatv1.EntityKind_ENTITY_KIND_CITY
	kindBloc    = bilatv1.EntityKind_ENTITY_KIND_BLOC
	kindOrg     = bilatv1.EntityKind_ENTITY_KIND_ORGANISATION
)

// convert reads the book from in and the gazetteer's world sources from
// sources, and writes everything under out.
func convert(in, sources, out string) (*summary, error) {
	fns, err := readFootnotes(filepath.Join(in, "footnotes.json"))
	if err != nil {
		return nil, err
	}
	ents, _, err := readRows[bookEntity](filepath.Join(in, "entities.ndjson"))
	if err != nil {
		return nil, err
	}
	agrs, _, err := readRows[bookAgreement](filepath.Join(in, "agreements.ndjson"))
	if err != nil {
		return nil, err
	}
	trades, tradeLines, err := readRows[bookTrade](filepath.Join(in, "trade.ndjson"))
	if err != nil {
		return nil, err
	}
	otherLines, err := rawLines(filepath.Join(in, "other_figures.ndjson"))
	if err != nil {
		return nil, err
	}
	sum := &summary{BookEntities: len(ents), BookAgreements: len(agrs), BookTrade: len(trades), BookOtherFigures: len(otherLines)}

	g, err := buildGazetteer(ents, sources)
	if err != nil {
		return nil, fmt.Errorf("gazetteer: %w", err)
	}
	sum.Ambiguous = g.ambiguous()
	for _, code := range g.added {
		sum.Added = append(sum.Added, g.byCode[code])
	}
	var entLines [][]byte
	for _, e := range g.entities {
		line, err := marshalLine(e)
		if err != nil {
			return nil, fmt.Errorf("entity %s: %w", e.Code, err)
		}
		entLines = append(entLines, line)
	}
	sum.Entities = len(entLines)
	sum.WorldAdded = len(g.entities) - g.bookCount
	sum.Kinds = map[bilatv1.EntityKind]int{}
	for _, e := range g.entities {
		sum.Kinds[e.Kind]++
		sum.Aliases += len(e.Aliases)
	}
	sum.Countries, sum.Regions, sum.Cities = sum.Kinds[kindCountry], sum.Kinds[kindRegion], sum.Kinds[kindCity]
	sum.Blocs, sum.Orgs = sum.Kinds[kindBloc], sum.Kinds[kindOrg]
	sum.ISOVersion = g.world.iso.Version
	sum.Centres = len(g.world.centres)
	sum.CityRegions = len(g.world.cityRegions)
	sum.Subdivisions = len(g.world.iso.Subdivisions) + len(g.world.extraSubdivisions)

	ids := map[string]bool{}
	var agrLines [][]byte
	for _, r := range agrs {
		if ids[r.ID] {
			return nil, fmt.Errorf("agreement id %q used twice", r.ID)
		}
		ids[r.ID] = true
		a, err := convertAgreement(r, g, fns)
		if err != nil {
			return nil, fmt.Errorf("agreement %s: %w", r.ID, err)
		}
		line, err := marshalLine(&bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_Agreement{Agreement: a}})
		if err != nil {
			return nil, fmt.Errorf("agreement %s: %w", r.ID, err)
		}
		agrLines = append(agrLines, line)
	}
	sum.Agreements = len(agrLines)

	var trLines, otherOut [][]byte
	for i, r := range trades {
		if ids[r.ID] {
			return nil, fmt.Errorf("trade id %q used twice or also an agreement id", r.ID)
		}
		ids[r.ID] = true
		f, err := convertTrade(r, g, fns)
		var nl *notLoaded
		switch {
		case errors.As(err, &nl):
			sum.Skipped = append(sum.Skipped, skipped{ID: r.ID, Flow: r.Flow, Reason: nl.reason})
			otherOut = append(otherOut, otherFigureLine("trade.ndjson", nl.reason, tradeLines[i]))
			continue
		case err != nil:
			return nil, fmt.Errorf("trade %s: %w", r.ID, err)
		}
		line, err := marshalLine(&bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: f}})
		if err != nil {
			return nil, fmt.Errorf("trade %s: %w", r.ID, err)
		}
		trLines = append(trLines, line)
	}
	sum.Trade = len(trLines)
	for _, l := range otherLines {
		otherOut = append(otherOut, otherFigureLine("other_figures.ndjson", "", l))
	}
	sum.OtherFigures = len(otherOut)

	bookFiles, err := os.ReadDir(in)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", in, err)
	}
	for _, de := range bookFiles {
		if !de.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(in, de.Name()))
		if err != nil {
			return nil, fmt.Errorf("read book file: %w", err)
		}
		if err := writeFile(filepath.Join(out, dirBook, de.Name()), data); err != nil {
			return nil, err
		}
		sum.BookFiles = append(sum.BookFiles, de.Name())
	}
	slices.Sort(sum.BookFiles)

	for path, lines := range map[string][][]byte{
		fileEntities: entLines, fileAgreements: agrLines, fileTrade: trLines, fileOtherFigures: otherOut,
	} {
		if err := writeFile(filepath.Join(out, path), joinLines(lines)); err != nil {
			return nil, err
		}
	}
	readme, err := renderReadme(sum)
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(out, fileReadme), readme); err != nil {
		return nil, err
	}
	return sum, nil
}

// otherFigureLine is a line of other_figures.ndjson: a book row kept
// verbatim under "row", with the book file it came from and, for trade rows,
// why it is not a trade figure.
func otherFigureLine(origin, reason string, row []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"origin":`)
	buf.Write(jsonString(origin))
	if reason != "" {
		buf.WriteString(`,"reason":`)
		buf.Write(jsonString(reason))
	}
	buf.WriteString(`,"row":`)
	buf.Write(row)
	buf.WriteByte('}')
	return buf.Bytes()
}

func jsonString(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// marshalLine renders one protojson line. protojson deliberately varies its
// whitespace between builds, so the output is compacted to make re-runs
// byte-identical; field order and map keys are already deterministic.
func marshalLine(m proto.Message) ([]byte, error) {
	raw, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("protojson: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("compact: %w", err)
	}
	return buf.Bytes(), nil
}

func joinLines(lines [][]byte) []byte {
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("mkdir for %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
