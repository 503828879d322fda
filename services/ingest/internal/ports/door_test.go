package ports

import (
	"strings"
	"testing"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestDoorKey(t *testing.T) {
	tests := []struct {
		name      string
		hdr       nats.Header
		key, from string
	}{
		{"no headers", nil, "", ""},
		{"msg id", nats.Header{"Nats-Msg-Id": {"m-1"}, "ce-id": {"c-1"}}, "m-1", "header Nats-Msg-Id"},
		{"ce-id", nats.Header{"ce-id": {"c-1"}, "ce_id": {"c-2"}}, "c-1", "header ce-id"},
		{"ce_id", nats.Header{"ce_id": {"c-2"}}, "c-2", "header ce_id"},
		{"case-insensitive", nats.Header{"Ce-Id": {"c-3"}}, "c-3", "header ce-id"},
		{"blank msg id falls through", nats.Header{"Nats-Msg-Id": {"  "}, "ce-id": {"c-1"}}, "c-1", "header ce-id"},
		{"trimmed", nats.Header{"ce-id": {" c-4 "}}, "c-4", "header ce-id"},
		{"unrelated headers", nats.Header{"ce-source": {"x"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, from := doorKey(tt.hdr)
			if key != tt.key || from != tt.from {
				t.Fatalf("doorKey = %q, %q; want %q, %q", key, from, tt.key, tt.from)
			}
		})
	}
}

func TestDoorMeta(t *testing.T) {
	m, err := doorMeta("bilat.ingest.agreement", nats.Header{
		"traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"tracestate":  {"vendor=1"},
		"ce-time":     {"2018-04-05T17:31:00.5+03:00"},
		"ce-id":       {"c-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2018, 4, 5, 14, 31, 0, 500_000_000, time.UTC)
	if m.Source != "jetstream:bilat.ingest.agreement" || m.IdempotencyKey != "c-1" || m.KeyField != "header ce-id" ||
		m.Traceparent != "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" || m.Tracestate != "vendor=1" || !m.OccurredAt.Equal(want) {
		t.Fatalf("meta %+v", m)
	}

	m, err = doorMeta("bilat.ingest.trade_figure", nats.Header{"ce_time": {"2020-01-01T00:00:00Z"}})
	if err != nil || !m.OccurredAt.Equal(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("ce_time: %+v, %v", m, err)
	}
	m, err = doorMeta("bilat.ingest.trade_figure", nil)
	if err != nil || !m.OccurredAt.IsZero() || m.IdempotencyKey != "" {
		t.Fatalf("no headers: %+v, %v", m, err)
	}
	_, err = doorMeta("bilat.ingest.agreement", nats.Header{"ce-time": {"yesterday"}})
	if err == nil || !strings.Contains(err.Error(), "ce-time") {
		t.Fatalf("bad ce-time: err = %v", err)
	}
}

func TestDecodeBody(t *testing.T) {
	a := &bilatv1.Agreement{Title: "Treaty of friendship", Kind: bilatv1.AgreementKind_AGREEMENT_KIND_TREATY, Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_POLITICAL}}
	bin, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, contentType string
		body              []byte
		wantErr           string
	}{
		{"protobuf", "", bin, ""},
		{"protobuf with content type", "application/protobuf", bin, ""},
		{"protojson sniffed", "", js, ""},
		{"protojson after white space", "", append([]byte("\n  \t"), js...), ""},
		{"protojson by content type", "application/json; charset=utf-8", []byte(` {"title":"Treaty of friendship","kind":"AGREEMENT_KIND_TREATY","domains":["DOMAIN_POLITICAL"]}`), ""},
		{"protojson enum numbers", "", []byte(`{"title":"Treaty of friendship","kind":1,"domains":[26]}`), ""},
		{"cloudevents json type", "application/cloudevents+json", []byte(`  {"title":"Treaty of friendship","kind":1,"domains":[26]}`), ""},
		{"json unknown field", "", []byte(`{"title":"x","colour":"red"}`), `protojson`},
		{"json by type but not json", "application/json", bin, "protojson"},
		{"truncated protobuf", "", bin[:len(bin)-1], "protobuf"},
		{"garbage", "", []byte{0xff, 0xff, 0xff}, "protobuf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bilatv1.Agreement
			err := DecodeBody(tt.body, tt.contentType, &got)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(&got, a) {
				t.Fatalf("decoded %v, want %v", &got, a)
			}
		})
	}
}

// An id of 123 characters encodes as "\n{" + id: it sniffs as JSON but
// must still decode as protobuf.
func TestDecodeBodyProtobufThatLooksLikeJSON(t *testing.T) {
	a := &bilatv1.Agreement{Id: strings.Repeat("a", 123), Title: "t"}
	bin, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if !sniffJSON(bin) {
		t.Fatalf("test input does not sniff as JSON: %q", bin[:4])
	}
	var got bilatv1.Agreement
	if err := DecodeBody(bin, "", &got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&got, a) {
		t.Fatalf("decoded %v", &got)
	}
	// Not JSON and not protobuf: the JSON error is the one reported.
	err = DecodeBody([]byte(`{"title": `), "", &got)
	if err == nil || !strings.Contains(err.Error(), "protojson") {
		t.Fatalf("err = %v", err)
	}
}

func TestHeaderLookup(t *testing.T) {
	h := nats.Header{"Content-Type": {"application/json"}, "content-type": {"text/plain"}, "X": {""}}
	if got := header(h, "Content-Type"); got != "application/json" {
		t.Fatalf("exact match lost: %q", got)
	}
	if got := header(h, "CONTENT-TYPE"); got != "application/json" {
		t.Fatalf("case-insensitive match not deterministic: %q", got)
	}
	if got := header(h, "X"); got != "" {
		t.Fatalf("empty value: %q", got)
	}
	if got := header(nil, "X"); got != "" {
		t.Fatalf("nil header: %q", got)
	}
}
