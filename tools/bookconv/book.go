package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// The book's row formats (see ../shared/data/README.md). Decoding rejects
// unknown fields so that a change of the book's format stops the conversion
// instead of silently dropping provenance.

type bookSource struct {
	Footnote    string `json:"footnote"`
	URL         string `json:"url"`
	Published   int32  `json:"published"`
	BookChapter string `json:"book_chapter"`
}

type bookEntity struct {
	Canonical  string            `json:"canonical"`
	Aliases    []string          `json:"aliases"`
	Type       string            `json:"type"`
	Country    string            `json:"country"`
	ISO31662   string            `json:"iso3166_2"`
	Parent     string            `json:"parent"`
	Side       string            `json:"side"`
	Chapters   []string          `json:"chapters"`
	Note       string            `json:"note"`
	AliasNotes map[string]string `json:"alias_notes"`
}

type bookParty struct {
	Name    string `json:"name"`
	Level   string `json:"level"`
	Country string `json:"country"`
}

type bookAgreement struct {
	ID             string       `json:"id"`
	Title          string       `json:"title"`
	Kind           string       `json:"kind"`
	Subkind        string       `json:"subkind"`
	Signed         string       `json:"signed"`
	ContextDate    string       `json:"context_date"`
	InForceDate    string       `json:"in_force_date"`
	Place          string       `json:"place"`
	Parties        []bookParty  `json:"parties"`
	Partner        string       `json:"partner"`
	PartnerCountry string       `json:"partner_country"`
	Domains        []string     `json:"domains"`
	Status         string       `json:"status"`
	ValueUSD       *json.Number `json:"value_usd"`
	ValueApprox    bool         `json:"value_approx"`
	Footnote       string       `json:"footnote"`
	Note           string       `json:"note"`
	DocumentNamed  bool         `json:"document_named"`
	Aggregate      bool         `json:"aggregate"`
	Count          *json.Number `json:"count"`
	CountApprox    bool         `json:"count_approx"`
	Chapter        string       `json:"chapter"`
	Source         bookSource   `json:"source"`
}

type bookTrade struct {
	ID             string       `json:"id"`
	Reporter       string       `json:"reporter"`
	Partner        string       `json:"partner"`
	PartnerCountry string       `json:"partner_country"`
	Period         string       `json:"period"`
	Flow           string       `json:"flow"`
	Metric         string       `json:"metric"`
	Scope          string       `json:"scope"`
	Value          *json.Number `json:"value"`
	Currency       string       `json:"currency"`
	Unit           string       `json:"unit"`
	UnitMultiplier json.Number  `json:"unit_multiplier"`
	ValueAbs       *json.Number `json:"value_abs"`
	Approx         bool         `json:"approx"`
	ApproxKind     string       `json:"approx_kind"`
	GrowthPct      *json.Number `json:"growth_pct"`
	GrowthApprox   bool         `json:"growth_approx"`
	GrowthBase     string       `json:"growth_base"`
	Target         bool         `json:"target"`
	Planned        bool         `json:"planned"`
	Cumulative     bool         `json:"cumulative"`
	Footnote       string       `json:"footnote"`
	Note           string       `json:"note"`
	Chapter        string       `json:"chapter"`
	Source         bookSource   `json:"source"`
}

type bookFootnote struct {
	URL  *string `json:"url"`
	Year *int32  `json:"year"`
}

// rawLines returns the non-empty lines of an NDJSON file, each still as the
// book wrote it.
func rawLines(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		lines = append(lines, append([]byte(nil), line...))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", path, err)
	}
	return lines, nil
}

func decodeStrict(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// readRows decodes every line of an NDJSON file into T, keeping the raw line.
func readRows[T any](path string) ([]T, [][]byte, error) {
	lines, err := rawLines(path)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]T, 0, len(lines))
	for i, line := range lines {
		var row T
		if err := decodeStrict(line, &row); err != nil {
			return nil, nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		rows = append(rows, row)
	}
	return rows, lines, nil
}

func readFootnotes(path string) (map[string]bookFootnote, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var fns map[string]bookFootnote
	if err := decodeStrict(data, &fns); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return fns, nil
}
