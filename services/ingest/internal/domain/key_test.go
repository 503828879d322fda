package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func TestContentHashSameAcrossEncodings(t *testing.T) {
	a := validAgreement()
	// Many map entries make a non-deterministic encoding likely to differ.
	a.Attributes = manyAttrs(40)
	want, err := ContentHash(a)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(want) {
		t.Fatalf("hash %q is not hex sha256", want)
	}

	bin, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for name, decode := range map[string]func(*bilatv1.Agreement) error{
		"protobuf":  func(m *bilatv1.Agreement) error { return proto.Unmarshal(bin, m) },
		"protojson": func(m *bilatv1.Agreement) error { return protojson.Unmarshal(js, m) },
	} {
		for range 5 {
			var m bilatv1.Agreement
			if err := decode(&m); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, err := ContentHash(&m)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%s: hash %s, want %s", name, got, want)
			}
		}
	}

	b := validAgreement()
	b.Title += "!"
	other, err := ContentHash(b)
	if err != nil {
		t.Fatal(err)
	}
	if other == want {
		t.Fatal("different content gave the same hash")
	}
}

func TestIdempotencyKey(t *testing.T) {
	tests := []struct {
		name     string
		explicit []string
		want     string
	}{
		{"no explicit key", nil, "HASH"},
		{"all empty", []string{"", "", ""}, "HASH"},
		{"first wins", []string{"msg-1", "ce-1"}, "msg-1"},
		{"falls through empties", []string{"", "", "ce-under"}, "ce-under"},
	}
	for _, tt := range tests {
		if got := IdempotencyKey("HASH", tt.explicit...); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestKeyDerivation(t *testing.T) {
	ns := NamespacedKey(TypeAgreement, "order-17")
	if ns != "agreement:order-17" {
		t.Fatalf("namespaced key %q", ns)
	}
	if got := NamespacedKey(TypeTradeFigure, "order-17"); got != "trade_figure:order-17" {
		t.Fatalf("namespaced key %q", got)
	}
	sum := sha256.Sum256([]byte("agreement:order-17"))
	full := hex.EncodeToString(sum[:])
	if got := KeyHash(ns); got != full {
		t.Fatalf("KeyHash = %s, want %s", got, full)
	}
	if got := EventID(ns); got != "evt-"+full[:32] {
		t.Fatalf("EventID = %s, want evt-%s", got, full[:32])
	}
	if EventID(ns) != EventID("agreement:order-17") {
		t.Fatal("EventID is not deterministic")
	}
	if EventID(ns) == EventID(NamespacedKey(TypeTradeFigure, "order-17")) {
		t.Fatal("the same key of two record types gave one event id")
	}
}

func TestRecordID(t *testing.T) {
	hash := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ id, prefix, want string }{
		{"given-id", AgreementIDPrefix, "given-id"},
		{"", AgreementIDPrefix, "agr-0123456789abcdef"},
		{"", TradeFigureIDPrefix, "trd-0123456789abcdef"},
	}
	for _, tt := range tests {
		if got := RecordID(tt.id, tt.prefix, hash); got != tt.want {
			t.Errorf("RecordID(%q, %q) = %q, want %q", tt.id, tt.prefix, got, tt.want)
		}
	}
	// A derived id satisfies the id pattern, so it can be resubmitted.
	if !idPattern.MatchString(RecordID("", TradeFigureIDPrefix, hash)) {
		t.Fatal("derived id does not match the id pattern")
	}
}
