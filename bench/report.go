package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// latencies holds every recorded sample; percentiles are exact (nearest rank).
type latencies []time.Duration

func (l latencies) sorted() latencies {
	s := slices.Clone(l)
	slices.Sort(s)
	return s
}

// pct is the nearest-rank percentile of sorted samples (p in 0..100).
func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(l))))
	rank = max(1, min(rank, len(l)))
	return l[rank-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Figure is one measured number with its baseline from the same run.
type Figure struct {
	Name     string   `json:"name"`
	Unit     string   `json:"unit"`
	Value    float64  `json:"value"`
	Baseline *float64 `json:"baseline,omitempty"`
	// BaselineName says what the baseline measured.
	BaselineName string   `json:"baseline_name,omitempty"`
	Ratio        *float64 `json:"ratio,omitempty"`
	Target       string   `json:"target,omitempty"`
	Met          *bool    `json:"met,omitempty"`
	Note         string   `json:"note,omitempty"`
}

// Result is everything a run measured (bench/results/latest.json).
type Result struct {
	Mode     string            `json:"mode"`
	Started  time.Time         `json:"started"`
	Seconds  float64           `json:"seconds"`
	Host     map[string]string `json:"host"`
	Params   map[string]any    `json:"params"`
	Methods  map[string]string `json:"methods"`
	Figures  []Figure          `json:"figures"`
	Profiles []string          `json:"profiles,omitempty"`
}

func (r *Result) add(f Figure) *Figure {
	r.Figures = append(r.Figures, f)
	return &r.Figures[len(r.Figures)-1]
}

// withBaseline sets the baseline and ratio (value / baseline).
func (f *Figure) withBaseline(name string, b float64) *Figure {
	f.BaselineName, f.Baseline = name, &b
	if b != 0 {
		r := f.Value / b
		f.Ratio = &r
	}
	return f
}

// target records a target and whether it was met.
func (f *Figure) target(desc string, met bool) *Figure {
	f.Target, f.Met = desc, &met
	return f
}

// Get returns the named figure.
func (r *Result) Get(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Table prints figure | value | baseline | ratio | target | met?.
func (r *Result) Table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tbaseline\tratio\ttarget\tmet?")
	for _, f := range r.Figures {
		base, ratio, met := "", "", ""
		if f.Baseline != nil {
			base = num(*f.Baseline) + " (" + f.BaselineName + ")"
		}
		if f.Ratio != nil {
			ratio = fmt.Sprintf("%.1f%%", *f.Ratio*100)
		}
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*f.Met]
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\t%s\n", f.Name, num(f.Value), f.Unit, base, ratio, f.Target, met)
	}
	tw.Flush()
}

// Summary prints the run's heading, its table and the method of each phase.
func (r *Result) Summary(w io.Writer) {
	fmt.Fprintf(w, "\nBilat benchmark (%s mode, started %s, %.0f s, %s)\n\n",
		r.Mode, r.Started.UTC().Format(time.RFC3339), r.Seconds, r.Host["cpu"])
	r.Table(w)
	for _, k := range slices.Sorted(maps.Keys(r.Methods)) {
		fmt.Fprintf(w, "\n%s: %s\n", k, r.Methods[k])
	}
	fmt.Fprintln(w)
}

// readResult loads a result written by writeJSON.
func readResult(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode result %s: %w", path, err)
	}
	return &r, nil
}

// Markdown is the table for docs/benchmarks.md.
func (r *Result) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| figure | value | baseline | ratio | target | met? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, f := range r.Figures {
		base, ratio, met := "", "", ""
		if f.Baseline != nil {
			base = num(*f.Baseline) + " (" + f.BaselineName + ")"
		}
		if f.Ratio != nil {
			ratio = fmt.Sprintf("%.1f %%", *f.Ratio*100)
		}
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*f.Met]
		}
		fmt.Fprintf(w, "| %s | %s %s | %s | %s | %s | %s |\n", f.Name, num(f.Value), f.Unit, base, ratio,
			strings.ReplaceAll(f.Target, "|", "\\|"), met)
	}
}

func (r *Result) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
