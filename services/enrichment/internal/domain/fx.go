package domain

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Rate is an annual average reference rate: units of a currency per US dollar.
type Rate struct {
	Currency string
	Year     int32
	// PerUSD is exact (parsed from the decimal text of the source).
	PerUSD *big.Rat
	Text   string
	Source string
	// Confidence is the file's word for how sure the value is (high,
	// medium, low); anything but high is repeated in the conversion's note.
	Confidence string
}

// Rates holds the annual average rates by currency and year.
type Rates struct {
	m map[string]map[int32]Rate
}

// NewRates indexes rates; a currency and year given twice is an error.
func NewRates(rs []Rate) (*Rates, error) {
	r := &Rates{m: map[string]map[int32]Rate{}}
	for _, x := range rs {
		if r.m[x.Currency] == nil {
			r.m[x.Currency] = map[int32]Rate{}
		}
		if _, dup := r.m[x.Currency][x.Year]; dup {
			return nil, fmt.Errorf("rate %s %d given twice", x.Currency, x.Year)
		}
		r.m[x.Currency][x.Year] = x
	}
	return r, nil
}

// Len is the number of rates.
func (r *Rates) Len() int {
	n := 0
	if r != nil {
		for _, y := range r.m {
			n += len(y)
		}
	}
	return n
}

// ParseRatesCSV reads rates from CSV with a header naming at least the
// columns currency, year, units_per_usd and source (in any order).
func ParseRatesCSV(rd io.Reader) ([]Rate, error) {
	cr := csv.NewReader(rd)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read rates header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"currency", "year", "units_per_usd"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("rates header %v: no column %q", head, need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Rate
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("rates line %d: %w", line, err)
		}
		cur := strings.ToUpper(get(rec, "currency"))
		year, err := strconv.ParseInt(get(rec, "year"), 10, 32)
		if err != nil || len(cur) != 3 {
			return nil, fmt.Errorf("rates line %d: bad currency %q or year %q", line, cur, get(rec, "year"))
		}
		txt := get(rec, "units_per_usd")
		v, ok := new(big.Rat).SetString(txt)
		if !ok || v.Sign() <= 0 {
			return nil, fmt.Errorf("rates line %d: bad units_per_usd %q", line, txt)
		}
		out = append(out, Rate{Currency: cur, Year: int32(year), PerUSD: v, Text: txt, Source: get(rec, "source"), Confidence: get(rec, "confidence")})
	}
}

// byrEnd is when the BYR stopped and the BYN began (1 BYN = 10 000 BYR).
const byrRedenominationYear = 2016

var nanosPerUnit = big.NewInt(1_000_000_000)

// ToUSD converts m at the annual average rate of year. The result is
// rounded half away from zero to whole cents. A missing rate, a missing
// year or an impossible currency/year pair is a gap with a note and no
// amount, never a zero.
func (r *Rates) ToUSD(m *bilatv1.Money, year, month int32) *bilatv1.FxConversion {
	if m == nil || m.GetCurrency() == "" {
		return nil
	}
	cur := strings.ToUpper(m.Currency)
	if year == 0 {
		return &bilatv1.FxConversion{Gap: true, Note: "no year to take a rate from"}
	}
	amount := new(big.Rat).SetFrac(
		new(big.Int).Add(new(big.Int).Mul(big.NewInt(m.Units), nanosPerUnit), big.NewInt(int64(m.Nanos))),
		nanosPerUnit)
	if cur == "USD" {
		return &bilatv1.FxConversion{Usd: money(amount), Rate: 1, RateYear: year, Source: "identity"}
	}
	if cur == "BYN" && (year < byrRedenominationYear || (year == byrRedenominationYear && month > 0 && month < 7)) {
		return &bilatv1.FxConversion{Gap: true, RateYear: year,
			Note: fmt.Sprintf("BYN did not exist before July 2016; an amount of %d is probably in BYR", year)}
	}
	rate, ok := r.lookup(cur, year)
	if !ok {
		return &bilatv1.FxConversion{Gap: true, RateYear: year, Note: fmt.Sprintf("no %s rate for %d in data/fx", cur, year)}
	}
	usd := new(big.Rat).Quo(amount, rate.PerUSD)
	f, _ := rate.PerUSD.Float64()
	conv := &bilatv1.FxConversion{Usd: money(usd), Rate: f, RateYear: year, Source: rate.Source}
	if c := rate.Confidence; c != "" && c != "high" {
		conv.Note = "rate confidence " + c + " (see data/fx/README.md)"
	}
	return conv
}

func (r *Rates) lookup(cur string, year int32) (Rate, bool) {
	if r == nil {
		return Rate{}, false
	}
	x, ok := r.m[cur][year]
	return x, ok
}

// money rounds v to cents (half away from zero) as USD Money.
func money(v *big.Rat) *bilatv1.Money {
	cents := new(big.Rat).Mul(v, big.NewRat(100, 1))
	num, den := cents.Num(), cents.Denom()
	q, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	// |rem|*2 >= den rounds away from zero.
	if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	units, c := new(big.Int).QuoRem(q, big.NewInt(100), new(big.Int))
	return &bilatv1.Money{Currency: "USD", Units: units.Int64(), Nanos: int32(c.Int64()) * 10_000_000}
}
