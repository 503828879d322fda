package format

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Output is how a command prints its answer.
type Output string

// The output formats. JSON is written by the caller straight from the
// proto message (protojson); table and CSV come from a View.
const (
	OutputTable Output = "table"
	OutputJSON  Output = "json"
	OutputCSV   Output = "csv"
)

// Outputs lists the accepted --output values, for help and completion.
var Outputs = []string{string(OutputTable), string(OutputJSON), string(OutputCSV)}

// ParseOutput checks an --output value.
func ParseOutput(s string) (Output, error) {
	for _, o := range Outputs {
		if strings.EqualFold(strings.TrimSpace(s), o) {
			return Output(o), nil
		}
	}
	return "", fmt.Errorf("unknown output format %q (one of: %s)", s, strings.Join(Outputs, ", "))
}

// Column is one column of a view over items of type T. Cell is what a
// person reads in a table; Raw, when set, is what CSV gets instead (an
// untruncated title, say), so scripts never see text cut for the screen.
type Column[T any] struct {
	Name string
	Cell func(T) string
	Raw  func(T) string
	// Key, when set, is the CSV header instead of CSVName(Name).
	Key string
	// Width is the least table width of the column: streamed views (watch,
	// alerts) print a row at a time, and the first row alone would set it.
	Width int
}

// Widths returns the columns' least table widths.
func (v View[T]) Widths() []int {
	ws := make([]int, len(v))
	for i, c := range v {
		ws[i] = c.Width
	}
	return ws
}

// View is an ordered list of columns: every table the tool prints is
// defined once as a View and rendered by the table or CSV writer.
type View[T any] []Column[T]

// Header returns the column names: upper case for tables, lower snake case
// for CSV (easier to use as keys in scripts).
func (v View[T]) Header(out Output) []string {
	h := make([]string, len(v))
	for i, c := range v {
		h[i] = c.Name
		if out == OutputCSV {
			h[i] = CSVName(c.Name)
			if c.Key != "" {
				h[i] = c.Key
			}
		}
	}
	return h
}

// CSVName turns a table header ("BASE VALUE") into a CSV one ("base_value").
func CSVName(name string) string {
	return strings.ToLower(strings.NewReplacer(" ", "_", "-", "_").Replace(strings.TrimSpace(name)))
}

// Rows renders items as cells for out.
func (v View[T]) Rows(out Output, items []T) [][]string {
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		row := make([]string, len(v))
		for i, c := range v {
			if out == OutputCSV && c.Raw != nil {
				row[i] = c.Raw(it)
			} else {
				row[i] = c.Cell(it)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// Render writes items under the view's header as a table or CSV; the
// header is written even when there are no items (CSV readers rely on it).
func Render[T any](w io.Writer, out Output, v View[T], items []T) error {
	rw := NewRowWriter(w, out, v.Header(out))
	if err := rw.Write(v.Rows(out, items)); err != nil {
		return err
	}
	return rw.Close()
}

// RowWriter writes rows a batch (a page) at a time, so long listings are
// printed as they arrive: the header once, then every batch flushed.
type RowWriter struct {
	w      io.Writer
	out    Output
	header []string
	csv    *csv.Writer
	widths []int
	began  bool
}

// NewRowWriter prepares a table or CSV writer with its header.
func NewRowWriter(w io.Writer, out Output, header []string) *RowWriter {
	rw := &RowWriter{w: w, out: out, header: header}
	if out == OutputCSV {
		rw.csv = csv.NewWriter(w)
	}
	return rw
}

// MinWidths sets the least table width of each column (View.Widths).
func (rw *RowWriter) MinWidths(ws []int) *RowWriter {
	rw.widths = append([]int(nil), ws...)
	return rw
}

// Write writes one batch of rows, and the header before the first one.
// Table column widths are set by the first batch (and grow for later
// ones), so the columns of a streamed listing stay aligned page by page.
func (rw *RowWriter) Write(rows [][]string) error {
	if rw.out == OutputCSV {
		if !rw.began {
			rw.began = true
			if err := rw.csv.Write(rw.header); err != nil {
				return fmt.Errorf("write csv: %w", err)
			}
		}
		if err := rw.csv.WriteAll(rows); err != nil { // WriteAll flushes
			return fmt.Errorf("write csv: %w", err)
		}
		return nil
	}
	clean := make([][]string, 0, len(rows)+1)
	if !rw.began {
		clean = append(clean, cleanCells(rw.header))
	}
	for _, r := range rows {
		clean = append(clean, cleanCells(r))
	}
	rw.began = true
	for _, r := range clean {
		for i, c := range r {
			if i >= len(rw.widths) {
				rw.widths = append(rw.widths, 0)
			}
			rw.widths[i] = max(rw.widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range clean {
		var line strings.Builder
		for i, c := range r {
			line.WriteString(c)
			if i < len(r)-1 {
				line.WriteString(strings.Repeat(" ", rw.widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		// No trailing blanks when the last cells are empty.
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(rw.w, b.String()); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// Close writes the header if no batch did, so an empty CSV still has one.
func (rw *RowWriter) Close() error {
	if !rw.began {
		return rw.Write(nil)
	}
	return nil
}

// cleanCells replaces tabs and newlines so a cell cannot break the layout.
func cleanCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	return out
}

// Table writes rows under a header, columns aligned, two spaces apart.
func Table(w io.Writer, header []string, rows [][]string) error {
	rw := NewRowWriter(w, OutputTable, header)
	return rw.Write(rows)
}

// Field is one labelled value of a single-record view (agreement detail,
// entity, profile header).
type Field struct{ Name, Value string }

// FieldsView renders fields as "Name: value" lines, skipping empty values,
// for tables; as a field,value CSV for scripts.
func WriteFields(w io.Writer, out Output, fields []Field) error {
	if out == OutputCSV {
		rows := make([][]string, 0, len(fields))
		for _, f := range fields {
			if f.Value != "" {
				rows = append(rows, []string{CSVName(f.Name), f.Value})
			}
		}
		rw := NewRowWriter(w, OutputCSV, []string{"field", "value"})
		return rw.Write(rows)
	}
	width := 0
	for _, f := range fields {
		if f.Value != "" {
			width = max(width, utf8.RuneCountInString(f.Name)+1)
		}
	}
	var b strings.Builder
	for _, f := range fields {
		if f.Value == "" {
			continue
		}
		name := f.Name + ":"
		b.WriteString(name + strings.Repeat(" ", width-utf8.RuneCountInString(name)+2) + f.Value + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
