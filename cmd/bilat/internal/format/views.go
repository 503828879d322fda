package format

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// TitleWidth is how many runes of an agreement title the list table shows.
const TitleWidth = 60

// Table writes rows under a header, columns aligned with tabwriter.
// Tabs and newlines inside cells are replaced so they cannot break the layout.
func Table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	writeRow := func(cells []string) {
		clean := make([]string, len(cells))
		for i, c := range cells {
			clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(clean, "\t"))
	}
	writeRow(header)
	for _, r := range rows {
		writeRow(r)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// AgreementHeader is the header of the agreements list table.
var AgreementHeader = []string{"ID", "SIGNED", "PARTNER", "KIND", "DOMAINS", "TITLE"}

// AgreementRow is one line of the agreements list table.
func AgreementRow(a *bilatv1.Agreement) []string {
	return []string{
		a.GetId(),
		Or(PartialDate(a.GetSignedOn()), "-"),
		Or(EntityRef(a.GetPartner()), "-"),
		Or(AgreementKind(a), "-"),
		Or(Domains(a.GetDomains()), "-"),
		Truncate(a.GetTitle(), TitleWidth),
	}
}

// TradeHeader is the header of the trade series table.
var TradeHeader = []string{"PERIOD", "REPORTER", "FLOW", "SCOPE", "VALUE", "GROWTH", "SOURCE"}

// TradeRows flattens a series: one row per figure, so conflicting figures
// for the same period stay visible. Targets are marked in the VALUE column.
func TradeRows(points []*bilatv1.TradePoint) [][]string {
	var rows [][]string
	for _, p := range points {
		for _, f := range p.GetFigures() {
			value := Money(f.GetValue(), f.GetApproximate())
			if f.GetIsTarget() {
				value += " (target)"
			}
			rows = append(rows, []string{
				Period(periodOr(f.GetPeriod(), p.GetPeriod())),
				Or(Or(EntityRef(f.GetReporter()), p.GetReporter()), "-"),
				Or(EnumName(flowOr(f.GetFlow(), p.GetFlow())), "-"),
				Or(EnumName(p.GetScope()), "unspecified"),
				Or(value, "-"),
				Or(Growth(f), "-"),
				Or(SourceLabel(f.GetSources()), "-"),
			})
		}
	}
	return rows
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

// AgreementDetail writes a readable multi-line view of one agreement with
// every field: parties with their resolution, sources and attributes.
func AgreementDetail(w io.Writer, a *bilatv1.Agreement) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", name, value)
		}
	}
	field("ID", a.GetId())
	field("Title", a.GetTitle())
	field("Kind", AgreementKind(a))
	field("Status", EnumName(a.GetStatus()))
	field("Signed", Or(PartialDate(a.GetSignedOn()), "not stated"))
	field("In force", PartialDate(a.GetInForceOn()))
	field("Place", a.GetPlace())
	field("Partner", RefLong(a.GetPartner()))
	field("Domains", strings.ReplaceAll(Domains(a.GetDomains()), ",", ", "))
	field("Value", Money(a.GetValue(), a.GetValueApproximate()))
	if a.GetRevision() != 0 {
		field("Revision", fmt.Sprint(a.GetRevision()))
	}
	if a.GetUpdatedAt() != nil {
		field("Updated", a.GetUpdatedAt().AsTime().UTC().Format(time.RFC3339))
	}
	field("Note", a.GetNote())
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write agreement: %w", err)
	}

	var b strings.Builder
	if ps := a.GetParties(); len(ps) > 0 {
		b.WriteString("Parties:\n")
		for i, p := range ps {
			fmt.Fprintf(&b, "  %d. %s", i+1, Or(p.GetEntity().GetName(), "(unnamed)"))
			var tags []string
			if l := EnumName(p.GetLevel()); l != "" {
				tags = append(tags, l)
			}
			if p.GetCountry() != "" {
				tags = append(tags, p.GetCountry())
			}
			if len(tags) > 0 {
				fmt.Fprintf(&b, " [%s]", strings.Join(tags, ", "))
			}
			fmt.Fprintf(&b, "\n     %s\n", Resolution(p.GetEntity()))
		}
	}
	if ss := a.GetSources(); len(ss) > 0 {
		b.WriteString("Sources:\n")
		for i, s := range ss {
			var parts []string
			for _, p := range []string{s.GetPublisher(), PartialDate(s.GetPublished()), s.GetReference(), s.GetUrl()} {
				if p != "" {
					parts = append(parts, p)
				}
			}
			fmt.Fprintf(&b, "  %d. %s\n", i+1, Or(strings.Join(parts, ", "), "(no details)"))
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
