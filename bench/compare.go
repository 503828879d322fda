package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// compareRuns prints saved results side by side, figure by figure: each
// figure's ratio to its same-run baseline where it has one (the number
// that compares across runs, since the machine's own limits move between
// them), else its value. With two runs a last column gives the change
// from the first to the second: percentage points for ratios, a factor
// for values. This is how the alternating pairs of docs/benchmarks.md are
// read: one build, the other, the first again, and so on.
func compareRuns(w io.Writer, paths []string) error {
	if len(paths) < 2 {
		return fmt.Errorf("compare: give two or more saved results (latest.json files), got %d", len(paths))
	}
	runs := make([]map[string]Figure, len(paths))
	var order []string
	seen := map[string]bool{}
	for i, p := range paths {
		r, err := readResult(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "#%d %s: %s mode, started %s, %s\n", i+1, p, r.Mode, r.Started.UTC().Format("2006-01-02 15:04"), r.Host["cpu"])
		runs[i] = map[string]Figure{}
		for _, kf := range figureKeys(r) {
			runs[i][kf.key] = kf.Figure
			if !seen[kf.key] {
				seen[kf.key] = true
				order = append(order, kf.key)
			}
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprint(tw, "figure")
	for i := range runs {
		fmt.Fprintf(tw, "\t#%d", i+1)
	}
	if len(runs) == 2 {
		fmt.Fprint(tw, "\t#2 against #1")
	}
	fmt.Fprintln(tw)
	for _, k := range order {
		var name string
		for _, run := range runs {
			if f, ok := run[k]; ok {
				name = f.Name
				break
			}
		}
		fmt.Fprint(tw, name)
		for _, run := range runs {
			fmt.Fprint(tw, "\t"+cell(run[k], run[k].Name != ""))
		}
		if len(runs) == 2 {
			fmt.Fprint(tw, "\t"+change(runs[0][k], runs[1][k]))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

type keyedFigure struct {
	key string
	Figure
}

// figureKeys names each figure of r uniquely, in r's order: several
// breakdown lines share a name ("  of which bench process …" under the
// pipeline and under the NATS path), so a repeated name gets its
// occurrence number.
func figureKeys(r *Result) []keyedFigure {
	out := make([]keyedFigure, 0, len(r.Figures))
	n := map[string]int{}
	for _, f := range r.Figures {
		n[f.Name]++
		k := f.Name
		if n[f.Name] > 1 {
			k += "#" + strconv.Itoa(n[f.Name])
		}
		out = append(out, keyedFigure{k, f})
	}
	return out
}

func cell(f Figure, ok bool) string {
	switch {
	case !ok:
		return "—"
	case f.Ratio != nil:
		return fmt.Sprintf("%.1f%% (%s)", *f.Ratio*100, num(f.Value))
	default:
		return num(f.Value) + " " + f.Unit
	}
}

func change(a, b Figure) string {
	switch {
	case a.Name == "" || b.Name == "":
		return ""
	case a.Ratio != nil && b.Ratio != nil:
		return fmt.Sprintf("%+.1f pt", (*b.Ratio-*a.Ratio)*100)
	case a.Value != 0:
		return fmt.Sprintf("×%.2f", b.Value/a.Value)
	default:
		return ""
	}
}
