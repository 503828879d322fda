// Package input decodes what people feed the bilat tool: import files with
// one protojson bilat.v1.ImportRequest per line, and single agreements or
// trade figures for submit.
package input

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Line is one non-blank line of an import file.
type Line struct {
	// No is the 1-based line number in the file, blank lines included.
	No int
	// Req is the parsed item; nil when Err is set.
	Req *bilatv1.ImportRequest
	// Err says why the line does not parse; the line is rejected locally.
	Err error
}

// Reader reads an import file line by line without loading it whole.
type Reader struct {
	r    *bufio.Reader
	line int
}

// NewReader reads ndjson from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64*1024)}
}

// Next returns the next non-blank line, parsed. A line that does not parse
// comes back with Line.Err set; the error result is only for read failures
// and io.EOF at the end.
func (r *Reader) Next() (Line, error) {
	for {
		raw, err := r.r.ReadBytes('\n')
		if len(raw) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return Line{}, io.EOF
			}
			return Line{}, fmt.Errorf("read line %d: %w", r.line+1, err)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return Line{}, fmt.Errorf("read line %d: %w", r.line+1, err)
		}
		r.line++
		if r.line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		req, perr := ParseLine(raw)
		if perr != nil {
			return Line{No: r.line, Err: perr}, nil
		}
		return Line{No: r.line, Req: req}, nil
	}
}

// CountLines counts the non-blank lines of r, the total a progress bar
// measures against.
func CountLines(r io.Reader) (int, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	n := 0
	for {
		raw, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			n++
		}
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("count lines: %w", err)
		}
	}
}

// ParseLine decodes one import line. A line with neither an agreement nor
// a trade figure is an error: the server would only reject it.
func ParseLine(raw []byte) (*bilatv1.ImportRequest, error) {
	req := &bilatv1.ImportRequest{}
	if err := protojson.Unmarshal(raw, req); err != nil {
		return nil, fmt.Errorf("not a bilat.v1.ImportRequest: %s", ProtoErr(err, false))
	}
	if req.GetItem() == nil {
		return nil, errors.New("neither agreement nor tradeFigure is set")
	}
	return req, nil
}

// posRE matches the position protojson puts into its messages, either
// leading ("(line 1:15): unknown field") or inside ("syntax error (line 1:2): ...").
var posRE = regexp.MustCompile(` ?\(line (\d+):(\d+)\)`)

// ProtoErr returns a protojson error's text without its "proto:" prefix
// (which protobuf-go writes with a random non-breaking space), with the
// position moved to the end: "unknown field "x" (column 12)". A one-line
// input gets only the column, since "line 1" would read as the file's line.
func ProtoErr(err error, multiline bool) string {
	s := err.Error()
	for _, p := range []string{"proto: ", "proto:\u00a0"} {
		s = strings.TrimPrefix(s, p)
	}
	s = strings.TrimSpace(s)
	m := posRE.FindStringSubmatchIndex(s)
	if m == nil {
		return s
	}
	line, col := s[m[2]:m[3]], s[m[4]:m[5]]
	s = strings.TrimPrefix(s[:m[0]]+s[m[1]:], ": ")
	if multiline {
		return fmt.Sprintf("%s (line %s, column %s)", s, line, col)
	}
	return fmt.Sprintf("%s (column %s)", s, col)
}

// Kind names the two record types one can submit.
type Kind int

// The record types.
const (
	KindAgreement Kind = iota
	KindTradeFigure
)

func (k Kind) String() string {
	if k == KindTradeFigure {
		return "trade figure"
	}
	return "agreement"
}

// DecodeSingle decodes one record of the wanted kind from a whole document
// (one JSON object, possibly spread over several lines): either the bare
// bilat.v1.Agreement / TradeFigure, or an ImportRequest wrapper around it.
// It returns the record and the wrapper's idempotency key, if any.
func DecodeSingle(data []byte, want Kind) (proto.Message, string, error) {
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(data) == 0 {
		return nil, "", errors.New("input is empty")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		if bytes.Count(data, []byte("\n")) > 0 && bytes.HasPrefix(data, []byte("{")) {
			return nil, "", fmt.Errorf("input is not one JSON object (for an ndjson file use `bilat import`): %w", err)
		}
		return nil, "", fmt.Errorf("input is not a JSON object: %w", err)
	}
	if isWrapper(top) {
		req := &bilatv1.ImportRequest{}
		if err := protojson.Unmarshal(data, req); err != nil {
			return nil, "", fmt.Errorf("not a bilat.v1.ImportRequest: %s", ProtoErr(err, true))
		}
		switch item := req.GetItem().(type) {
		case *bilatv1.ImportRequest_Agreement:
			if want != KindAgreement {
				return nil, "", errors.New("the input holds an agreement; use `bilat submit agreement`")
			}
			return item.Agreement, req.GetIdempotencyKey(), nil
		case *bilatv1.ImportRequest_TradeFigure:
			if want != KindTradeFigure {
				return nil, "", errors.New("the input holds a trade figure; use `bilat submit trade`")
			}
			return item.TradeFigure, req.GetIdempotencyKey(), nil
		default:
			return nil, "", errors.New("the ImportRequest has neither agreement nor tradeFigure")
		}
	}
	var msg proto.Message = &bilatv1.Agreement{}
	if want == KindTradeFigure {
		msg = &bilatv1.TradeFigure{}
	}
	if err := protojson.Unmarshal(data, msg); err != nil {
		return nil, "", fmt.Errorf("not a %s: %s", msg.ProtoReflect().Descriptor().FullName(), ProtoErr(err, true))
	}
	return msg, "", nil
}

// isWrapper tells an ImportRequest from a bare record by its top-level
// keys; neither Agreement nor TradeFigure has a field of these names.
func isWrapper(top map[string]json.RawMessage) bool {
	for _, k := range []string{"agreement", "tradeFigure", "trade_figure", "idempotencyKey", "idempotency_key"} {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}
