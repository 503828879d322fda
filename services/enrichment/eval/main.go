// Command eval measures enrichment against the labelled cases in
// data/eval: resolution accuracy, party-level accuracy and domain
// micro-F1, per split (dev: used while tuning; heldout: never looked at
// while tuning), listing every miss. `make eval` runs it.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/adapters"
	"bilat.dev/services/enrichment/internal/domain"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "eval:", err)
		os.Exit(1)
	}
}

type nameCase struct {
	Name   string `json:"name"`
	Expect string `json:"expect"`
	Lang   string `json:"lang"`
	Split  string `json:"split"`
}

type agreementCase struct {
	Title   string `json:"title"`
	Text    string `json:"text"`
	Parties []struct {
		Name  string `json:"name"`
		Level string `json:"level"`
	} `json:"parties"`
	Domains []string `json:"domains"`
	Lang    string   `json:"lang"`
	Split   string   `json:"split"`
}

var splits = []string{"dev", "heldout"}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	gaz := fs.String("gazetteer", adapters.DefaultGazetteerPath, "gazetteer NDJSON")
	dir := fs.String("dir", "data/eval", "directory with resolution.ndjson and agreements.ndjson")
	if err := fs.Parse(args); err != nil {
		return err
	}
	g, _, err := adapters.LoadGazetteer(*gaz)
	if err != nil {
		return err
	}
	evalDir, err := adapters.FindGazetteer(*dir)
	if err != nil {
		return err
	}
	var names []nameCase
	if err := readNDJSON(filepath.Join(evalDir, "resolution.ndjson"), &names); err != nil {
		return err
	}
	var ags []agreementCase
	if err := readNDJSON(filepath.Join(evalDir, "agreements.ndjson"), &ags); err != nil {
		return err
	}
	en := domain.Enricher{Gazetteer: g, Home: "BY"}

	fmt.Fprintf(out, "gazetteer: %d entities; %d names, %d agreements\n\n", g.Len(), len(names), len(ags))
	for _, split := range splits {
		var ok, n int
		var misses []string
		for _, c := range names {
			if c.Split != split {
				continue
			}
			n++
			m := g.Resolve(c.Name)
			got := "UNRESOLVED"
			switch m.Resolution {
			case bilatv1.Resolution_RESOLUTION_RESOLVED:
				got = m.Entity.GetCode()
			case bilatv1.Resolution_RESOLUTION_AMBIGUOUS:
				got = "AMBIGUOUS"
			}
			if got == c.Expect {
				ok++
				continue
			}
			misses = append(misses, fmt.Sprintf("  %-45q want %-22s got %s (%s %.2f; candidates %s)", c.Name, c.Expect, got, m.Method, m.Confidence, strings.Join(m.CandidateCodes(), ",")))
		}
		report(out, "resolution", split, fmt.Sprintf("accuracy %s (%d/%d)", pct(ok, n), ok, n), misses)
	}
	for _, split := range splits {
		var lok, ln, tp, fp, fn int
		var lmiss, dmiss []string
		for _, c := range ags {
			if c.Split != split {
				continue
			}
			a := &bilatv1.Agreement{Title: c.Title, Text: c.Text}
			for _, p := range c.Parties {
				a.Parties = append(a.Parties, &bilatv1.Party{Entity: &bilatv1.EntityRef{Name: p.Name}})
			}
			en.Agreement(a)
			for i, p := range c.Parties {
				ln++
				got := enumName(a.Parties[i].GetLevel().String(), "PARTY_LEVEL_")
				if got == p.Level {
					lok++
					continue
				}
				_, why := domain.InferLevel(p.Name, a.Parties[i].GetEntity(), g)
				lmiss = append(lmiss, fmt.Sprintf("  %-60q want %-12s got %s (%s)", p.Name, p.Level, got, why))
			}
			var got []string
			for _, d := range a.Domains {
				got = append(got, enumName(d.String(), "DOMAIN_"))
			}
			var extra, missing []string
			for _, d := range got {
				if slices.Contains(c.Domains, d) {
					tp++
				} else {
					fp++
					extra = append(extra, d+why(a, d))
				}
			}
			for _, d := range c.Domains {
				if !slices.Contains(got, d) {
					fn++
					missing = append(missing, d)
				}
			}
			if len(extra)+len(missing) > 0 {
				dmiss = append(dmiss, fmt.Sprintf("  %q\n      missing %v, extra %v", trunc(c.Title, 110), missing, extra))
			}
		}
		report(out, "party level", split, fmt.Sprintf("accuracy %s (%d/%d)", pct(lok, ln), lok, ln), lmiss)
		p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
		f1 := 0.0
		if p+r > 0 {
			f1 = 2 * p * r / (p + r)
		}
		report(out, "domains", split, fmt.Sprintf("micro-F1 %.3f (precision %.3f, recall %.3f; tp %d fp %d fn %d)", f1, p, r, tp, fp, fn), dmiss)
	}
	return nil
}

func why(a *bilatv1.Agreement, d string) string {
	for _, l := range a.DomainLabels {
		if enumName(l.Domain.String(), "DOMAIN_") == d {
			return fmt.Sprintf("%q", l.Terms)
		}
	}
	return ""
}

func report(out io.Writer, task, split, line string, misses []string) {
	fmt.Fprintf(out, "%-11s %-8s %s\n", task, split, line)
	for _, m := range misses {
		fmt.Fprintln(out, m)
	}
	fmt.Fprintln(out)
}

func enumName(s, prefix string) string { return strings.ToLower(strings.TrimPrefix(s, prefix)) }

func pct(ok, n int) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(ok)/float64(n))
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func trunc(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func readNDJSON[T any](path string, out *[]T) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open cases: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(b), &v); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		*out = append(*out, v)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
