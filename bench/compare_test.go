package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	dir := t.TempDir()
	run := func(name string, hop, pipe, ingestCPU float64, extra bool) string {
		r := &Result{Mode: "quick", Started: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), Host: map[string]string{"cpu": "test"}}
		r.add(Figure{Name: "pipeline throughput, both doors", Unit: "events/s", Value: pipe}).withBaseline("JetStream single hop", hop)
		r.add(Figure{Name: "  of which ingest", Unit: "µs", Value: ingestCPU})
		r.add(Figure{Name: "NATS path alone (3 relays, no work)", Unit: "events/s", Value: 2 * pipe}).withBaseline("JetStream single hop", hop)
		r.add(Figure{Name: "  of which ingest", Unit: "µs", Value: ingestCPU / 2})
		if extra {
			r.add(Figure{Name: "a new figure", Unit: "ms", Value: 3})
		}
		p := filepath.Join(dir, name)
		if err := r.writeJSON(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := run("a.json", 80_000, 6_000, 50, false)
	b := run("b.json", 60_000, 6_000, 40, true)

	var out strings.Builder
	if err := cli([]string{"-compare", a, b}, &out); err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1); len(f) > 1 {
			rows[f[0]] = append(rows[f[0]], strings.Join(f[1:], " | "))
		}
	}
	// Ratios to the same run's baseline, and their change in points: the
	// same throughput on a slower machine is a larger share of it.
	if got := rows["pipeline throughput, both doors"]; len(got) != 1 || got[0] != "7.5% (6000) | 10.0% (6000) | +2.5 pt" {
		t.Errorf("pipeline row: %q\n%s", got, out.String())
	}
	// A repeated name is matched by its place, not mixed up with the
	// first one; values without a baseline change by a factor.
	if got := rows["of which ingest"]; len(got) != 2 || got[0] != "50.0 µs | 40.0 µs | ×0.80" || got[1] != "25.0 µs | 20.0 µs | ×0.80" {
		t.Errorf("breakdown rows: %q\n%s", got, out.String())
	}
	if got := rows["a new figure"]; len(got) != 1 || got[0] != "— | 3.00 ms" {
		t.Errorf("a figure of one run only: %q\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "#1 "+a+": quick mode, started 2026-11-29 12:00, test") {
		t.Errorf("no heading for the first run:\n%s", out.String())
	}

	// Three runs: no change column.
	out.Reset()
	if err := cli([]string{"-compare", a, b, a}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "against") || !strings.Contains(out.String(), "#3") {
		t.Errorf("three runs:\n%s", out.String())
	}

	for _, args := range [][]string{{"-compare", a}, {"-compare", a, filepath.Join(dir, "missing.json")}, {"-print", a, b}} {
		if err := cli(args, &out); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
