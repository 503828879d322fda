// Package format renders bilat.v1 messages for people: partial dates at their
// precision, money with thousands separators, enum names without their
// prefixes, tables and a multi-line agreement view.
package format

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// PartialDate prints a date at the precision the source gives ("2017",
// "2017-03", "2017-03-14"), with a "~" prefix when approximate. An undated
// value (nil or year 0) prints as "".
func PartialDate(d *bilatv1.PartialDate) string {
	if d == nil || d.GetYear() == 0 {
		return ""
	}
	var s string
	switch {
	case d.GetMonth() == 0:
		s = fmt.Sprintf("%04d", d.GetYear())
	case d.GetDay() == 0:
		s = fmt.Sprintf("%04d-%02d", d.GetYear(), d.GetMonth())
	default:
		s = fmt.Sprintf("%04d-%02d-%02d", d.GetYear(), d.GetMonth(), d.GetDay())
	}
	if d.GetApproximate() {
		s = "~" + s
	}
	return s
}

// Period prints a trade period: "2018" for a year, "2018-03" for one month,
// "2018-01..07" for a month range inside the year.
func Period(p *bilatv1.Period) string {
	if p == nil || p.GetYear() == 0 {
		return ""
	}
	first, last := p.GetFirstMonth(), p.GetLastMonth()
	switch {
	case first == 0 && last == 0:
		return fmt.Sprintf("%04d", p.GetYear())
	case first == 0:
		return fmt.Sprintf("%04d-01..%02d", p.GetYear(), last)
	case last == 0 || last == first:
		return fmt.Sprintf("%04d-%02d", p.GetYear(), first)
	default:
		return fmt.Sprintf("%04d-%02d..%02d", p.GetYear(), first, last)
	}
}

// Amount prints units+nanos with thousands separators and without trailing
// fractional zeros: "1,234,567", "-12,000.5", "0.25".
func Amount(units int64, nanos int32) string {
	neg := units < 0 || (units == 0 && nanos < 0)
	// Work on the magnitude as uint64 so math.MinInt64 does not overflow.
	var mag uint64
	if units < 0 {
		mag = uint64(-(units + 1)) + 1
	} else {
		mag = uint64(units)
	}
	n := int64(nanos)
	if n < 0 {
		n = -n
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(group(strconv.FormatUint(mag, 10)))
	if n != 0 {
		frac := strings.TrimRight(fmt.Sprintf("%09d", n), "0")
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// group inserts a comma every three digits from the right.
func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Money prints an amount and its currency ("1,200,000 USD"), prefixed with
// "~" when the source hedges it. Nil prints as "".
func Money(m *bilatv1.Money, approximate bool) string {
	if m == nil {
		return ""
	}
	s := Amount(m.GetUnits(), m.GetNanos())
	if c := m.GetCurrency(); c != "" {
		s += " " + c
	}
	if approximate {
		s = "~" + s
	}
	return s
}

// Growth prints a stated growth rate with its base period: "+25% vs 2016".
func Growth(f *bilatv1.TradeFigure) string {
	if f == nil || f.StatedGrowthPct == nil {
		return ""
	}
	pct := f.GetStatedGrowthPct()
	s := strconv.FormatFloat(pct, 'f', -1, 64)
	if pct > 0 || (pct == 0 && !math.Signbit(pct)) {
		s = "+" + s
	}
	s += "%"
	if base := Period(f.GetGrowthBase()); base != "" {
		s += " vs " + base
	}
	return s
}

// Truncate shortens s to at most max runes, ending with "…" when cut.
func Truncate(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	if max == 1 {
		return "…"
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:max-1]), " ") + "…"
}

// Or returns s, or def when s is empty.
func Or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
