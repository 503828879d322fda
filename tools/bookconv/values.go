package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

var (
	reYear      = regexp.MustCompile(`^(\d{4})$`)
	reYearMonth = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	reFullDate  = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)
	reMonthSpan = regexp.MustCompile(`^(\d{4})-(\d{2})/(\d{4})-(\d{2})$`)
	reCurrency  = regexp.MustCompile(`^[A-Z]{3}$`)
)

func atoi32(s string) int32 {
	n, _ := strconv.Atoi(s) // callers pass regexp-checked digits only
	return int32(n)
}

// parsePartialDate keeps the book's precision: "2002", "2017-03", "2019-04-12".
// An empty string is no date (nil).
func parsePartialDate(s string) (*bilatv1.PartialDate, error) {
	switch {
	case s == "":
		return nil, nil
	case reYear.MatchString(s):
		return &bilatv1.PartialDate{Year: atoi32(s)}, nil
	case reYearMonth.MatchString(s):
		m := reYearMonth.FindStringSubmatch(s)
		d := &bilatv1.PartialDate{Year: atoi32(m[1]), Month: atoi32(m[2])}
		if d.Month < 1 || d.Month > 12 {
			return nil, fmt.Errorf("date %q: month out of range", s)
		}
		return d, nil
	case reFullDate.MatchString(s):
		m := reFullDate.FindStringSubmatch(s)
		d := &bilatv1.PartialDate{Year: atoi32(m[1]), Month: atoi32(m[2]), Day: atoi32(m[3])}
		if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
			return nil, fmt.Errorf("date %q: month or day out of range", s)
		}
		return d, nil
	}
	return nil, fmt.Errorf("date %q: want YYYY, YYYY-MM or YYYY-MM-DD", s)
}

// parsePeriod reads a trade period: a year ("2017"), one month ("2018-03",
// months 3..3) or a month range inside one year ("2018-01/2018-07").
// Open ("1956/..") and empty periods are errors: bilat.v1.Period cannot hold them.
func parsePeriod(s string) (*bilatv1.Period, error) {
	switch {
	case s == "":
		return nil, fmt.Errorf("no period stated")
	case reYear.MatchString(s):
		return &bilatv1.Period{Year: atoi32(s)}, nil
	case reYearMonth.MatchString(s):
		m := reYearMonth.FindStringSubmatch(s)
		mo := atoi32(m[2])
		if mo < 1 || mo > 12 {
			return nil, fmt.Errorf("period %q: month out of range", s)
		}
		return &bilatv1.Period{Year: atoi32(m[1]), FirstMonth: mo, LastMonth: mo}, nil
	case reMonthSpan.MatchString(s):
		m := reMonthSpan.FindStringSubmatch(s)
		if m[1] != m[3] {
			return nil, fmt.Errorf("period %q spans two years", s)
		}
		first, last := atoi32(m[2]), atoi32(m[4])
		if first < 1 || last > 12 || first > last {
			return nil, fmt.Errorf("period %q: bad month range", s)
		}
		return &bilatv1.Period{Year: atoi32(m[1]), FirstMonth: first, LastMonth: last}, nil
	}
	return nil, fmt.Errorf("period %q is open or not a year/month range", s)
}

var nanosPerUnit = big.NewInt(1_000_000_000)

// money converts a JSON number to an exact Money; it fails rather than round.
func money(n json.Number, currency string) (*bilatv1.Money, error) {
	if !reCurrency.MatchString(currency) {
		return nil, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, fmt.Errorf("amount %q is not a number", n)
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(nanosPerUnit))
	if !scaled.IsInt() {
		return nil, fmt.Errorf("amount %q has more than 9 decimals", n)
	}
	total := scaled.Num()
	units, nanos := new(big.Int).QuoRem(total, nanosPerUnit, new(big.Int))
	if !units.IsInt64() {
		return nil, fmt.Errorf("amount %q overflows int64 units", n)
	}
	return &bilatv1.Money{Currency: currency, Units: units.Int64(), Nanos: int32(nanos.Int64())}, nil
}

// nameKey is the case- and punctuation-insensitive form used to check that
// names resolve: lower case, ё→е, quotes and apostrophes dropped, other
// punctuation and symbols turned into spaces, spaces collapsed. It matches
// the enrichment service's normalisation on the book's (already NFC) text.
func nameKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r == 'ё':
			r = 'е'
		case strings.ContainsRune("'\"`´‘’‚‛“”„‟«»‹›", r):
			continue
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
