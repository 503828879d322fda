package input

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func readAll(t *testing.T, r io.Reader) []Line {
	t.Helper()
	rd := NewReader(r)
	var out []Line
	for {
		l, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, l)
	}
}

func TestReaderLineNumbersAndErrors(t *testing.T) {
	file := "\ufeff" + `{"agreement":{"id":"a1","title":"One"}}` + "\n" +
		"\n" + // blank: skipped, but counts as a line of the file
		"   \t\n" +
		`{"tradeFigure":{"id":"t1"},"idempotencyKey":"k1"}` + "\r\n" +
		`{"agreement": {"id": "a2", "title": ` + "\n" + // truncated JSON
		`{"agreement":{"signedOn":{"year":"twenty"}}}` + "\n" +
		`{"idempotencyKey":"only-key"}` + "\n" +
		`{"agreement":{"bogus":1}}` + "\n" +
		`not json at all` + "\n" +
		`{"tradeFigure":{"id":"t2"}}` // no trailing newline
	lines := readAll(t, strings.NewReader(file))

	type want struct {
		no      int
		errPart string // empty: parses
		id      string
	}
	wants := []want{
		{1, "", "a1"},
		{4, "", "t1"},
		{5, "not a bilat.v1.ImportRequest", ""},
		{6, "not a bilat.v1.ImportRequest", ""},
		{7, "neither agreement nor tradeFigure", ""},
		{8, `unknown field "bogus"`, ""},
		{9, "not a bilat.v1.ImportRequest", ""},
		{10, "", "t2"},
	}
	if len(lines) != len(wants) {
		t.Fatalf("got %d lines, want %d: %+v", len(lines), len(wants), lines)
	}
	for i, w := range wants {
		l := lines[i]
		if l.No != w.no {
			t.Errorf("item %d: line %d, want %d", i, l.No, w.no)
		}
		if w.errPart != "" {
			if l.Err == nil || !strings.Contains(l.Err.Error(), w.errPart) {
				t.Errorf("line %d: err = %v, want it to contain %q", l.No, l.Err, w.errPart)
			}
			if strings.Contains(l.Err.Error(), "proto:") {
				t.Errorf("line %d: error keeps the proto: prefix: %v", l.No, l.Err)
			}
			continue
		}
		if l.Err != nil {
			t.Errorf("line %d: unexpected error %v", l.No, l.Err)
			continue
		}
		id := l.Req.GetAgreement().GetId() + l.Req.GetTradeFigure().GetId()
		if id != w.id {
			t.Errorf("line %d: id %q, want %q", l.No, id, w.id)
		}
	}
	if k := lines[1].Req.GetIdempotencyKey(); k != "k1" {
		t.Errorf("idempotency key = %q", k)
	}
}

func TestReaderLongLineAndSmallReads(t *testing.T) {
	long := `{"agreement":{"id":"big","note":"` + strings.Repeat("x", 300_000) + `"}}`
	lines := readAll(t, iotest.OneByteReader(strings.NewReader("\n"+long+"\n")))
	if len(lines) != 1 || lines[0].No != 2 || lines[0].Err != nil || len(lines[0].Req.GetAgreement().GetNote()) != 300_000 {
		t.Fatalf("long line not read whole: %+v", lines)
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	rd := NewReader(io.MultiReader(strings.NewReader(`{"agreement":{"id":"a"}}`+"\n"), iotest.ErrReader(boom)))
	if l, err := rd.Next(); err != nil || l.No != 1 {
		t.Fatalf("first line: %+v %v", l, err)
	}
	if _, err := rd.Next(); !errors.Is(err, boom) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want read error naming line 2, got %v", err)
	}
}

func TestCountLines(t *testing.T) {
	tests := map[string]int{
		"":              0,
		"\n\n":          0,
		"a\n":           1,
		"a\n\n  \nb":    2,
		"a\r\nb\r\nc\n": 3,
	}
	for in, want := range tests {
		got, err := CountLines(strings.NewReader(in))
		if err != nil || got != want {
			t.Errorf("CountLines(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestDecodeSingle(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kind    Kind
		wantID  string
		wantKey string
		errPart string
	}{
		{name: "bare agreement", in: `{"id":"a1","title":"T","signedOn":{"year":2017}}`, kind: KindAgreement, wantID: "a1"},
		{name: "pretty agreement", in: "{\n  \"id\": \"a2\",\n  \"title\": \"T\"\n}\n", kind: KindAgreement, wantID: "a2"},
		{name: "wrapper agreement", in: `{"agreement":{"id":"a3"},"idempotencyKey":"k"}`, kind: KindAgreement, wantID: "a3", wantKey: "k"},
		{name: "bare trade", in: `{"id":"t1","flow":"TRADE_FLOW_EXPORTS"}`, kind: KindTradeFigure, wantID: "t1"},
		{name: "wrapper trade snake", in: `{"trade_figure":{"id":"t2"}}`, kind: KindTradeFigure, wantID: "t2"},
		{name: "wrong kind", in: `{"tradeFigure":{"id":"t3"}}`, kind: KindAgreement, errPart: "use `bilat submit trade`"},
		{name: "wrong kind 2", in: `{"agreement":{"id":"a4"}}`, kind: KindTradeFigure, errPart: "use `bilat submit agreement`"},
		{name: "wrapper without item", in: `{"idempotencyKey":"k"}`, kind: KindAgreement, errPart: "neither agreement nor tradeFigure"},
		{name: "empty", in: " \n", kind: KindAgreement, errPart: "empty"},
		{name: "ndjson", in: "{\"id\":\"a\"}\n{\"id\":\"b\"}\n", kind: KindAgreement, errPart: "bilat import"},
		{name: "unknown field", in: `{"id":"a","colour":"red"}`, kind: KindAgreement, errPart: `not a bilat.v1.Agreement: unknown field "colour" (line 1, column 11)`},
		{name: "trade field on agreement", in: `{"flow":"TRADE_FLOW_EXPORTS"}`, kind: KindAgreement, errPart: "unknown field"},
		{name: "array", in: `[1]`, kind: KindAgreement, errPart: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, key, err := DecodeSingle([]byte(tt.in), tt.kind)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var id string
			switch m := msg.(type) {
			case *bilatv1.Agreement:
				id = m.GetId()
			case *bilatv1.TradeFigure:
				id = m.GetId()
			}
			if id != tt.wantID || key != tt.wantKey {
				t.Errorf("got id %q key %q, want %q %q", id, key, tt.wantID, tt.wantKey)
			}
		})
	}
}

func TestProtoErrPosition(t *testing.T) {
	_, err := ParseLine([]byte(`{"agreement":{"colour":"red"}}`))
	if err == nil || err.Error() != `not a bilat.v1.ImportRequest: unknown field "colour" (column 15)` {
		t.Errorf("ParseLine error = %v", err)
	}
	_, err = ParseLine([]byte(`{nope`))
	if err == nil || err.Error() != `not a bilat.v1.ImportRequest: syntax error: invalid value nope (column 2)` {
		t.Errorf("ParseLine syntax error = %v", err)
	}
	_, _, err = DecodeSingle([]byte("{\n  \"id\": \"a\",\n  \"colour\": 1\n}"), KindAgreement)
	if err == nil || err.Error() != `not a bilat.v1.Agreement: unknown field "colour" (line 3, column 3)` {
		t.Errorf("DecodeSingle error = %v", err)
	}
}
