package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fxRow is one line of data/fx/rates.csv.
type fxRow struct {
	cur        string
	year       int
	rate       float64
	source     string
	confidence string
}

func readFX(t *testing.T) []fxRow {
	t.Helper()
	f, err := os.Open(filepath.Join(committed, "fx", "rates.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("rates.csv: %v", err)
	}
	want := []string{"currency", "year", "units_per_usd", "source", "confidence", "note"}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(want, ",") {
		t.Fatalf("rates.csv header = %v, want %v", recs[0], want)
	}
	var out []fxRow
	for i, r := range recs[1:] {
		y, err1 := strconv.Atoi(r[1])
		v, err2 := strconv.ParseFloat(r[2], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("rates.csv line %d: bad year or rate: %v", i+2, r)
		}
		out = append(out, fxRow{cur: r[0], year: y, rate: v, source: r[3], confidence: r[4]})
	}
	return out
}

func TestFXRates(t *testing.T) {
	rows := readFX(t)
	// Sanity bounds per currency (units per USD over 2000..2025): wide
	// enough for every real year, narrow enough to catch a slipped digit or
	// an inverted rate.
	bounds := map[string][2]float64{
		"RUB": {20, 110}, "BYR": {500, 25000}, "BYN": {1.5, 4}, "CNY": {6, 8.5}, "GEL": {1.3, 3.5},
		"EUR": {0.6, 1.2}, "KZT": {110, 550}, "UAH": {4.5, 45}, "AFN": {40, 100},
	}
	seen := map[string]map[int]float64{}
	for _, r := range rows {
		b, ok := bounds[r.cur]
		switch {
		case !ok:
			t.Errorf("%s %d: currency without sanity bounds", r.cur, r.year)
		case r.rate <= 0 || r.rate < b[0] || r.rate > b[1]:
			t.Errorf("%s %d: %v per USD outside %v", r.cur, r.year, r.rate, b)
		}
		if r.year < 2000 || r.year > 2025 {
			t.Errorf("%s %d: year outside 2000..2025", r.cur, r.year)
		}
		if !strings.Contains(r.source, "https://") {
			t.Errorf("%s %d: source %q names no publisher page", r.cur, r.year, r.source)
		}
		switch r.confidence {
		case "high", "medium", "low":
		default:
			t.Errorf("%s %d: confidence %q", r.cur, r.year, r.confidence)
		}
		if r.cur == "BYR" && r.year > 2016 || r.cur == "BYN" && r.year < 2016 {
			t.Errorf("%s %d: BYR ends and BYN starts with the 2016 redenomination", r.cur, r.year)
		}
		if seen[r.cur] == nil {
			seen[r.cur] = map[int]float64{}
		}
		if _, dup := seen[r.cur][r.year]; dup {
			t.Errorf("%s %d listed twice", r.cur, r.year)
		}
		seen[r.cur][r.year] = r.rate
	}
	for cur := range bounds {
		if len(seen[cur]) == 0 {
			t.Errorf("no %s rates", cur)
		}
	}
	// Known breaks must be visible: the rouble's 2014-15 fall, the hryvnia's
	// 2014-15 devaluation, the 1:10,000 redenomination of 2016.
	if seen["RUB"][2015] < 1.4*seen["RUB"][2014] {
		t.Errorf("RUB 2014 %v -> 2015 %v: the 2015 jump is missing", seen["RUB"][2014], seen["RUB"][2015])
	}
	if seen["UAH"][2015] < 1.5*seen["UAH"][2014] {
		t.Errorf("UAH 2014 %v -> 2015 %v: the devaluation is missing", seen["UAH"][2014], seen["UAH"][2015])
	}
	if byr, byn := seen["BYR"][2016], seen["BYN"][2016]; byn == 0 || byr/byn < 9990 || byr/byn > 10010 {
		t.Errorf("BYR 2016 %v vs BYN 2016 %v: want the 10,000:1 redenomination", byr, byn)
	}
	if seen["BYR"][2015] < 1.3*seen["BYR"][2014] {
		t.Errorf("BYR 2014 %v -> 2015 %v: the 2015 devaluation is missing", seen["BYR"][2014], seen["BYR"][2015])
	}
}
