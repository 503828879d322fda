package format

import (
	"fmt"
	"io"
	"strings"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// TitleWidth is how many runes of an agreement title the list table shows.
const TitleWidth = 60

// AgreementsView is the agreements list: one row per agreement.
var AgreementsView = View[*bilatv1.Agreement]{
	{Name: "ID", Cell: (*bilatv1.Agreement).GetId},
	{Name: "SIGNED", Cell: func(a *bilatv1.Agreement) string { return Or(PartialDate(a.GetSignedOn()), "-") },
		Raw: func(a *bilatv1.Agreement) string { return PartialDate(a.GetSignedOn()) }},
	{Name: "PARTNER", Cell: func(a *bilatv1.Agreement) string { return Or(EntityRef(a.GetPartner()), "-") }},
	{Name: "KIND", Cell: func(a *bilatv1.Agreement) string { return Or(AgreementKind(a), "-") }},
	{Name: "DOMAINS", Cell: func(a *bilatv1.Agreement) string { return Or(Domains(a.GetDomains()), "-") }},
	{Name: "TITLE", Cell: func(a *bilatv1.Agreement) string { return Truncate(a.GetTitle(), TitleWidth) },
		Raw: (*bilatv1.Agreement).GetTitle},
}

// FigureRow is one figure of a trade series with the point it belongs to.
type FigureRow struct {
	Point  *bilatv1.TradePoint
	Figure *bilatv1.TradeFigure
}

// FigureRows flattens a series: one row per figure, so conflicting figures
// for the same period stay visible.
func FigureRows(points []*bilatv1.TradePoint) []FigureRow {
	var rows []FigureRow
	for _, p := range points {
		for _, f := range p.GetFigures() {
			rows = append(rows, FigureRow{p, f})
		}
	}
	return rows
}

// TradeSeriesView is `trade series`: targets are marked in the VALUE column.
var TradeSeriesView = View[FigureRow]{
	{Name: "PERIOD", Cell: func(r FigureRow) string { return Period(periodOr(r.Figure.GetPeriod(), r.Point.GetPeriod())) }},
	{Name: "REPORTER", Cell: func(r FigureRow) string {
		return Or(Or(EntityRef(r.Figure.GetReporter()), r.Point.GetReporter()), "-")
	}},
	{Name: "FLOW", Cell: func(r FigureRow) string { return Or(EnumName(flowOr(r.Figure.GetFlow(), r.Point.GetFlow())), "-") }},
	{Name: "SCOPE", Cell: func(r FigureRow) string { return Or(EnumName(r.Point.GetScope()), "unspecified") }},
	{Name: "VALUE", Cell: func(r FigureRow) string {
		value := Money(r.Figure.GetValue(), r.Figure.GetApproximate())
		if r.Figure.GetIsTarget() {
			value += " (target)"
		}
		return Or(value, "-")
	}},
	{Name: "GROWTH", Cell: func(r FigureRow) string { return Or(Growth(r.Figure), "-") }},
	{Name: "SOURCE", Cell: func(r FigureRow) string { return Or(SourceLabel(r.Figure.GetSources()), "-") }},
}

// periodOr returns the figure's own period, or the point's when it has none.
func periodOr(a, b *bilatv1.Period) *bilatv1.Period {
	if a.GetYear() != 0 {
		return a
	}
	return b
}

// flowOr returns a, or b when a is unspecified.
func flowOr(a, b bilatv1.TradeFlow) bilatv1.TradeFlow {
	if a != bilatv1.TradeFlow_TRADE_FLOW_UNSPECIFIED {
		return a
	}
	return b
}

// SourceLabel names the first source briefly: publisher, else reference,
// else URL; "+N" tells how many more there are.
func SourceLabel(srcs []*bilatv1.Source) string {
	if len(srcs) == 0 {
		return ""
	}
	s := srcs[0]
	label := Or(Or(s.GetPublisher(), s.GetReference()), s.GetUrl())
	if d := PartialDate(s.GetPublished()); d != "" {
		label = strings.TrimSpace(label + " " + d)
	}
	if len(srcs) > 1 {
		label += fmt.Sprintf(" +%d", len(srcs)-1)
	}
	return label
}

// AgreementFields are the single-valued fields of one agreement.
func AgreementFields(a *bilatv1.Agreement) []Field {
	fs := []Field{
		{"ID", a.GetId()},
		{"Title", a.GetTitle()},
		{"Kind", AgreementKind(a)},
		{"Status", EnumName(a.GetStatus())},
		{"Signed", Or(PartialDate(a.GetSignedOn()), "not stated")},
		{"In force", PartialDate(a.GetInForceOn())},
		{"Place", a.GetPlace()},
		{"Partner", RefLong(a.GetPartner())},
		{"Domains", strings.ReplaceAll(Domains(a.GetDomains()), ",", ", ")},
		{"Value", Money(a.GetValue(), a.GetValueApproximate())},
	}
	if a.GetRevision() != 0 {
		fs = append(fs, Field{"Revision", fmt.Sprint(a.GetRevision())})
	}
	if a.GetUpdatedAt() != nil {
		fs = append(fs, Field{"Updated", a.GetUpdatedAt().AsTime().UTC().Format(time.RFC3339)})
	}
	return append(fs, Field{"Note", a.GetNote()})
}

// WriteAgreement writes one agreement: the readable view for tables; for
// CSV, field,value rows with the parties, sources and attributes as
// numbered fields (party.1, source.1, attribute.<key>).
func WriteAgreement(w io.Writer, out Output, a *bilatv1.Agreement) error {
	fields := AgreementFields(a)
	if out == OutputCSV {
		for i, p := range a.GetParties() {
			fields = append(fields, Field{fmt.Sprintf("party.%d", i+1), partyLine(p) + "; " + Resolution(p.GetEntity())})
		}
		for i, s := range a.GetSources() {
			fields = append(fields, Field{fmt.Sprintf("source.%d", i+1), sourceLine(s)})
		}
		for _, k := range sortedKeys(a.GetAttributes()) {
			fields = append(fields, Field{"attribute." + k, a.GetAttributes()[k]})
		}
		return WriteFields(w, out, fields)
	}
	if err := WriteFields(w, out, fields); err != nil {
		return err
	}
	var b strings.Builder
	if ps := a.GetParties(); len(ps) > 0 {
		b.WriteString("Parties:\n")
		for i, p := range ps {
			fmt.Fprintf(&b, "  %d. %s\n     %s\n", i+1, partyLine(p), Resolution(p.GetEntity()))
		}
	}
	if ss := a.GetSources(); len(ss) > 0 {
		b.WriteString("Sources:\n")
		for i, s := range ss {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, sourceLine(s))
			if q := s.GetQuote(); q != "" {
				fmt.Fprintf(&b, "     %q\n", q)
			}
		}
	}
	if attrs := a.GetAttributes(); len(attrs) > 0 {
		b.WriteString("Attributes:\n")
		for _, k := range sortedKeys(attrs) {
			fmt.Fprintf(&b, "  %s: %s\n", k, attrs[k])
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write agreement: %w", err)
	}
	return nil
}

// partyLine is "Name [level, country]".
func partyLine(p *bilatv1.Party) string {
	s := Or(p.GetEntity().GetName(), "(unnamed)")
	var tags []string
	if l := EnumName(p.GetLevel()); l != "" {
		tags = append(tags, l)
	}
	if p.GetCountry() != "" {
		tags = append(tags, p.GetCountry())
	}
	if len(tags) > 0 {
		s += " [" + strings.Join(tags, ", ") + "]"
	}
	return s
}

// sourceLine is "publisher, date, reference, url" (the parts present).
func sourceLine(s *bilatv1.Source) string {
	var parts []string
	for _, p := range []string{s.GetPublisher(), PartialDate(s.GetPublished()), s.GetReference(), s.GetUrl()} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return Or(strings.Join(parts, ", "), "(no details)")
}

// RefLong prints a reference with its resolution: "GE Georgia (country)",
// or "Foo (unresolved)".
func RefLong(r *bilatv1.EntityRef) string {
	if r == nil {
		return ""
	}
	switch r.GetResolution() {
	case bilatv1.Resolution_RESOLUTION_RESOLVED:
		s := r.GetCode()
		if n := Or(r.GetCanonicalName(), r.GetName()); n != "" {
			s += " " + n
		}
		if k := EnumName(r.GetKind()); k != "" {
			s += " (" + k + ")"
		}
		return strings.TrimSpace(s)
	case bilatv1.Resolution_RESOLUTION_UNRESOLVED:
		return r.GetName() + " (unresolved)"
	case bilatv1.Resolution_RESOLUTION_AMBIGUOUS:
		return r.GetName() + " (ambiguous)"
	}
	return Or(r.GetCode(), r.GetName())
}

// Resolution describes how a party's name was matched to an entity.
func Resolution(r *bilatv1.EntityRef) string {
	switch r.GetResolution() {
	case bilatv1.Resolution_RESOLUTION_RESOLVED:
		s := "resolved: " + r.GetCode()
		if n := r.GetCanonicalName(); n != "" {
			s += " " + n
		}
		var tags []string
		if k := EnumName(r.GetKind()); k != "" {
			tags = append(tags, k)
		}
		if p := r.GetParent(); p != "" {
			tags = append(tags, "in "+p)
		}
		if r.GetCountry() != "" && r.GetCountry() != r.GetCode() && r.GetCountry() != r.GetParent() {
			tags = append(tags, "country "+r.GetCountry())
		}
		if m := r.GetMatchedAlias(); m != "" && m != r.GetName() {
			tags = append(tags, fmt.Sprintf("matched %q", m))
		}
		if len(tags) > 0 {
			s += " (" + strings.Join(tags, ", ") + ")"
		}
		return s
	case bilatv1.Resolution_RESOLUTION_UNRESOLVED:
		return "unresolved"
	case bilatv1.Resolution_RESOLUTION_AMBIGUOUS:
		return "ambiguous"
	}
	return "not yet resolved"
}
