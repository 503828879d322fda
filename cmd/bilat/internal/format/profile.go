package format

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Timestamp prints a time in UTC, RFC 3339; nil prints as "".
func Timestamp(t *timestamppb.Timestamp) string {
	if t == nil {
		return ""
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

// entityLine is "CODE Name (kind)".
func entityLine(e *bilatv1.Entity) string {
	if e == nil {
		return ""
	}
	s := strings.TrimSpace(e.GetCode() + " " + e.GetName())
	if k := EnumName(e.GetKind()); k != "" {
		s += " (" + k + ")"
	}
	return s
}

func agreementLine(a *bilatv1.Agreement) string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf("%s  %s  %s", Or(PartialDate(a.GetSignedOn()), "undated"), a.GetId(), Truncate(a.GetTitle(), TitleWidth))
}

// profileFields are the entity and summary fields of a partner profile.
func profileFields(p *bilatv1.GetPartnerProfileResponse) []Field {
	e := p.GetEntity()
	fs := []Field{
		{"Partner", entityLine(e)},
		{"Category", e.GetCategory()},
		{"Country", e.GetCountry()},
		{"Parent", entityLine(p.GetParent())},
		{"Aliases", strings.Join(e.GetAliases(), "; ")},
	}
	for _, m := range e.GetMemberships() {
		v := m.GetBloc() + " joined " + Or(PartialDate(m.GetJoined()), "?")
		if m.GetLeft() != nil {
			v += ", left " + PartialDate(m.GetLeft())
		}
		fs = append(fs, Field{"Member of", v})
	}
	codes := func(es []*bilatv1.Entity) string {
		out := make([]string, len(es))
		for i, x := range es {
			out[i] = x.GetCode()
		}
		return strings.Join(out, ", ")
	}
	fs = append(fs,
		Field{"Children", codes(p.GetChildren())},
		Field{"Members", codes(p.GetMembers())},
		Field{"Agreements", strconv.FormatInt(p.GetTotalAgreements(), 10)},
		Field{"First", agreementLine(p.GetFirstAgreement())},
		Field{"Latest", agreementLine(p.GetLatestAgreement())},
	)
	var top []string
	for _, d := range p.GetTopDomains() {
		top = append(top, fmt.Sprintf("%s %d", Or(EnumName(d.GetDomain()), "none"), d.GetAgreements()))
	}
	return append(fs, Field{"Top domains", strings.Join(top, ", ")})
}

// TimelineView is the timeline section of a partner profile.
var TimelineView = View[*bilatv1.TimelineEntry]{
	{Name: "DATE", Cell: func(t *bilatv1.TimelineEntry) string { return Or(PartialDate(t.GetDate()), "undated") }},
	{Name: "WHAT", Cell: func(t *bilatv1.TimelineEntry) string {
		if t.GetAgreement() != nil {
			return "agreement"
		}
		return "trade"
	}},
	{Name: "DETAIL", Cell: func(t *bilatv1.TimelineEntry) string {
		if a := t.GetAgreement(); a != nil {
			return a.GetId() + "  " + Truncate(a.GetTitle(), TitleWidth)
		}
		tr := t.GetTrade()
		var parts []string
		for _, v := range tr.GetValues() {
			parts = append(parts, EnumName(v.GetFlow())+" "+TradeValue(v))
		}
		return strings.TrimSpace(Period(tr.GetPeriod()) + " " + tr.GetReporter() + ": " + strings.Join(parts, ", "))
	}},
}

// domainYears pivots agreement counts: one row per domain, one column per
// year, and a total.
func domainYears(counts []*bilatv1.AgreementCount) ([]string, [][]string) {
	var years []int32
	byDomain := map[string]map[int32]int64{}
	for _, c := range counts {
		if !slices.Contains(years, c.GetYear()) {
			years = append(years, c.GetYear())
		}
		d := Or(EnumName(c.GetDomain()), "none")
		if byDomain[d] == nil {
			byDomain[d] = map[int32]int64{}
		}
		byDomain[d][c.GetYear()] += c.GetCount()
	}
	slices.Sort(years)
	header := []string{"DOMAIN"}
	for _, y := range years {
		if y == 0 {
			header = append(header, "UNDATED")
		} else {
			header = append(header, strconv.Itoa(int(y)))
		}
	}
	header = append(header, "TOTAL")
	var names []string
	for d := range byDomain {
		names = append(names, d)
	}
	slices.Sort(names)
	var rows [][]string
	for _, d := range names {
		row := []string{d}
		var sum int64
		for _, y := range years {
			row = append(row, strconv.FormatInt(byDomain[d][y], 10))
			sum += byDomain[d][y]
		}
		rows = append(rows, append(row, strconv.FormatInt(sum, 10)))
	}
	return header, rows
}

// WriteProfile writes a partner profile: for tables, the entity fields and
// then each section under a title; for CSV, section,key,value rows (one
// table for the whole profile, so a script can filter by section).
func WriteProfile(w io.Writer, out Output, p *bilatv1.GetPartnerProfileResponse) error {
	if out == OutputCSV {
		rw := NewRowWriter(w, OutputCSV, []string{"section", "key", "value"})
		var rows [][]string
		for _, f := range profileFields(p) {
			if f.Value != "" {
				rows = append(rows, []string{"entity", CSVName(f.Name), f.Value})
			}
		}
		for _, c := range p.GetChildren() {
			rows = append(rows, []string{"child", c.GetCode(), c.GetName()})
		}
		for _, c := range p.GetAgreementsByDomainYear() {
			rows = append(rows, []string{"agreements", Or(EnumName(c.GetDomain()), "none") + "/" + strconv.Itoa(int(c.GetYear())), strconv.FormatInt(c.GetCount(), 10)})
		}
		for _, d := range p.GetTopDomains() {
			rows = append(rows, []string{"top_domain", Or(EnumName(d.GetDomain()), "none"), strconv.FormatInt(d.GetAgreements(), 10)})
		}
		for _, t := range p.GetTimeline() {
			r := TimelineView.Rows(OutputCSV, []*bilatv1.TimelineEntry{t})[0]
			rows = append(rows, []string{"timeline", r[0] + " " + r[1], r[2]})
		}
		if err := rw.Write(rows); err != nil {
			return err
		}
		return nil
	}
	if err := WriteFields(w, out, profileFields(p)); err != nil {
		return err
	}
	section := func(title string) {
		fmt.Fprintf(w, "\n%s\n", title)
	}
	if len(p.GetAgreementsByDomainYear()) > 0 {
		section("Agreements by domain and year:")
		h, rows := domainYears(p.GetAgreementsByDomainYear())
		if err := Table(w, h, rows); err != nil {
			return err
		}
	}
	if len(p.GetTrade()) > 0 {
		section("Trade (best values; * derived, ~ hedged):")
		if err := Render(w, OutputTable, BalanceView, p.GetTrade()); err != nil {
			return err
		}
	}
	if len(p.GetTimeline()) > 0 {
		section("Timeline:")
		if err := Render(w, OutputTable, TimelineView, p.GetTimeline()); err != nil {
			return err
		}
	}
	return nil
}

// RevisionsView is `agreements history`: one row per recorded version.
var RevisionsView = View[*bilatv1.AgreementRevision]{
	{Name: "REV", Cell: func(r *bilatv1.AgreementRevision) string { return strconv.Itoa(int(r.GetRevision())) }},
	{Name: "RECORDED", Cell: func(r *bilatv1.AgreementRevision) string { return Timestamp(r.GetRecordedAt()) }},
	{Name: "CHANGE", Cell: func(r *bilatv1.AgreementRevision) string {
		switch {
		case r.GetRetracted():
			return "retracted"
		case r.GetRevision() <= 1:
			return "recorded"
		}
		return "revised"
	}},
	{Name: "SIGNED", Cell: func(r *bilatv1.AgreementRevision) string { return Or(PartialDate(r.GetAgreement().GetSignedOn()), "-") }},
	{Name: "PARTNER", Cell: func(r *bilatv1.AgreementRevision) string { return Or(EntityRef(r.GetAgreement().GetPartner()), "-") }},
	{Name: "TITLE", Cell: func(r *bilatv1.AgreementRevision) string { return Truncate(r.GetAgreement().GetTitle(), 40) },
		Raw: func(r *bilatv1.AgreementRevision) string { return r.GetAgreement().GetTitle() }},
	{Name: "SOURCE", Cell: (*bilatv1.AgreementRevision).GetSource},
	{Name: "EVENT", Cell: (*bilatv1.AgreementRevision).GetEventId},
	{Name: "REASON", Cell: (*bilatv1.AgreementRevision).GetRetractionReason},
}

// ChangesView is `agreements watch`: one row per change, with the position
// to resume from.
var ChangesView = View[*bilatv1.WatchAgreementsResponse]{
	{Name: "POSITION", Cell: (*bilatv1.WatchAgreementsResponse).GetPosition},
	{Name: "RECORDED", Cell: func(c *bilatv1.WatchAgreementsResponse) string { return Timestamp(c.GetRecordedAt()) }},
	{Name: "CHANGE", Cell: func(c *bilatv1.WatchAgreementsResponse) string { return EnumName(c.GetKind()) }, Width: 9},
	{Name: "ID", Cell: func(c *bilatv1.WatchAgreementsResponse) string { return c.GetAgreement().GetId() }, Width: 40},
	{Name: "SIGNED", Cell: func(c *bilatv1.WatchAgreementsResponse) string {
		return Or(PartialDate(c.GetAgreement().GetSignedOn()), "-")
	}, Width: 10},
	{Name: "PARTNER", Cell: func(c *bilatv1.WatchAgreementsResponse) string {
		return Or(EntityRef(c.GetAgreement().GetPartner()), "-")
	}, Width: 8},
	{Name: "TITLE", Cell: func(c *bilatv1.WatchAgreementsResponse) string {
		t := Truncate(c.GetAgreement().GetTitle(), TitleWidth)
		if r := c.GetRetractionReason(); r != "" {
			t += " (retracted: " + r + ")"
		}
		return t
	}, Raw: func(c *bilatv1.WatchAgreementsResponse) string { return c.GetAgreement().GetTitle() }},
}

// AlertsView is `trade alerts`: one row per alert, with its position.
var AlertsView = View[*bilatv1.WatchTradeAlertsResponse]{
	{Name: "POSITION", Cell: (*bilatv1.WatchTradeAlertsResponse).GetPosition},
	{Name: "PARTNER", Cell: (*bilatv1.WatchTradeAlertsResponse).GetPartner, Width: 8},
	{Name: "REPORTER", Cell: (*bilatv1.WatchTradeAlertsResponse).GetReporter, Width: 8},
	{Name: "FLOW", Cell: func(r *bilatv1.WatchTradeAlertsResponse) string { return EnumName(r.GetFlow()) }},
	{Name: "PERIOD", Cell: func(r *bilatv1.WatchTradeAlertsResponse) string { return Period(r.GetPeriod()) }, Width: 11},
	{Name: "VALUE", Cell: func(r *bilatv1.WatchTradeAlertsResponse) string { return Or(Money(r.GetUsd(), false), "-") }, Width: 20},
	{Name: "PREVIOUS", Cell: func(r *bilatv1.WatchTradeAlertsResponse) string { return Or(Money(r.GetPreviousUsd(), false), "-") }, Width: 20},
	{Name: "CHANGE", Cell: func(r *bilatv1.WatchTradeAlertsResponse) string { v := r.GetChangePct(); return Percent(&v) }, Width: 8},
	{Name: "THRESHOLD", Cell: func(r *bilatv1.WatchTradeAlertsResponse) string { return Ratio(r.GetThresholdPct()) }},
	{Name: "FIGURE", Cell: func(r *bilatv1.WatchTradeAlertsResponse) string { return r.GetFigure().GetId() }},
}

// CompareView builds `trade compare`'s table: one row per year, one column
// per partner (value, share of the compared total, change from the year
// before), headed by the partner and the reporter whose figures fill the
// column. CSV cells hold the plain USD amount.
func CompareView(partners []string, cols []*bilatv1.PartnerTrade) View[*bilatv1.CompareYear] {
	v := View[*bilatv1.CompareYear]{{Name: "YEAR", Cell: func(y *bilatv1.CompareYear) string { return strconv.Itoa(int(y.GetYear())) }}}
	for i, p := range partners {
		name := p
		if i < len(cols) && cols[i].GetReporter() != "" {
			name += " (" + cols[i].GetReporter() + ")"
		}
		cell := func(y *bilatv1.CompareYear) *bilatv1.CompareCell {
			if i < len(y.GetCells()) {
				return y.GetCells()[i]
			}
			return nil
		}
		v = append(v, Column[*bilatv1.CompareYear]{
			Name: name,
			Key:  p, // partner codes keep their case in CSV headers
			Cell: func(y *bilatv1.CompareYear) string {
				c := cell(y)
				if c.GetUsd() == nil {
					return "-"
				}
				s := Money(c.GetUsd(), false)
				if c.GetDerived() {
					s += " *"
				}
				return fmt.Sprintf("%s (%s, %s)", s, Ratio(c.GetSharePct()), Percent(c.YoyPct))
			},
			Raw: func(y *bilatv1.CompareYear) string {
				c := cell(y)
				if c.GetUsd() == nil {
					return ""
				}
				return strings.ReplaceAll(Amount(c.GetUsd().GetUnits(), c.GetUsd().GetNanos()), ",", "")
			},
		})
	}
	return v
}

// CagrView lists the CAGR lines of a comparison.
var CagrView = View[*bilatv1.Cagr]{
	{Name: "REPORTER", Cell: (*bilatv1.Cagr).GetReporter},
	{Name: "FLOW", Cell: func(c *bilatv1.Cagr) string { return EnumName(c.GetFlow()) }},
	{Name: "SCOPE", Cell: func(c *bilatv1.Cagr) string { return scope(c.GetScope()) }},
	{Name: "YEARS", Cell: func(c *bilatv1.Cagr) string { return fmt.Sprintf("%d..%d", c.GetFromYear(), c.GetToYear()) }},
	{Name: "FROM", Cell: func(c *bilatv1.Cagr) string { return TradeValue(c.GetFromValue()) }},
	{Name: "TO", Cell: func(c *bilatv1.Cagr) string { return TradeValue(c.GetToValue()) }},
	{Name: "CAGR", Cell: func(c *bilatv1.Cagr) string { v := c.GetCagrPct(); return Percent(&v) }},
}
