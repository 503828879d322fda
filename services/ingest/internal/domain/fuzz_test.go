package domain

import (
	"slices"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzValidateAgreement feeds arbitrary protobuf to normalisation and
// validation. Beyond not panicking it checks that normalisation is
// idempotent, validation deterministic, and that an accepted record hashes
// the same after a protojson round trip (the two doors agree).
func FuzzValidateAgreement(f *testing.F) {
	for _, a := range []*bilatv1.Agreement{validAgreement(), {}, {Title: " x ", SignedOn: &bilatv1.PartialDate{Year: 2000, Month: 2, Day: 30}}} {
		b, err := proto.Marshal(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a bilatv1.Agreement
		if proto.Unmarshal(data, &a) != nil {
			return
		}
		NormalizeAgreement(&a)
		again := proto.Clone(&a).(*bilatv1.Agreement)
		NormalizeAgreement(again)
		if !proto.Equal(&a, again) {
			t.Fatalf("normalisation is not idempotent:\n%v\n%v", &a, again)
		}
		vs := ValidateAgreement(&a, "agreement")
		if !slices.Equal(vs, ValidateAgreement(&a, "agreement")) {
			t.Fatal("validation is not deterministic")
		}
		for _, v := range vs {
			if v.Field == "" || v.Description == "" {
				t.Fatalf("empty violation %+v", v)
			}
		}
		if len(vs) > 0 {
			return
		}
		checkDoorsAgree(t, &a, new(bilatv1.Agreement), func(m proto.Message) []Violation {
			return ValidateAgreement(m.(*bilatv1.Agreement), "agreement")
		})
	})
}

// FuzzValidateTradeFigure is FuzzValidateAgreement for trade figures.
func FuzzValidateTradeFigure(f *testing.F) {
	for _, tf := range []*bilatv1.TradeFigure{validFigure(), {}, {Period: &bilatv1.Period{Year: 2018, FirstMonth: 9, LastMonth: 2}, Flow: 4}} {
		b, err := proto.Marshal(tf)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var tf bilatv1.TradeFigure
		if proto.Unmarshal(data, &tf) != nil {
			return
		}
		NormalizeTradeFigure(&tf)
		again := proto.Clone(&tf).(*bilatv1.TradeFigure)
		NormalizeTradeFigure(again)
		if !proto.Equal(&tf, again) {
			t.Fatalf("normalisation is not idempotent:\n%v\n%v", &tf, again)
		}
		vs := ValidateTradeFigure(&tf, "figure")
		if !slices.Equal(vs, ValidateTradeFigure(&tf, "figure")) {
			t.Fatal("validation is not deterministic")
		}
		for _, v := range vs {
			if v.Field == "" || v.Description == "" {
				t.Fatalf("empty violation %+v", v)
			}
		}
		if len(vs) > 0 {
			return
		}
		checkDoorsAgree(t, &tf, new(bilatv1.TradeFigure), func(m proto.Message) []Violation {
			return ValidateTradeFigure(m.(*bilatv1.TradeFigure), "figure")
		})
	})
}

// checkDoorsAgree re-decodes a valid record from protojson into fresh and
// requires it to stay valid with the same content hash.
func checkDoorsAgree(t *testing.T, valid, fresh proto.Message, validate func(proto.Message) []Violation) {
	t.Helper()
	h1, err := ContentHash(valid)
	if err != nil {
		t.Fatalf("valid record does not hash: %v", err)
	}
	js, err := protojson.Marshal(valid)
	if err != nil {
		t.Fatalf("valid record does not encode as protojson: %v", err)
	}
	if err := protojson.Unmarshal(js, fresh); err != nil {
		t.Fatalf("protojson round trip: %v\n%s", err, js)
	}
	if vs := validate(fresh); len(vs) > 0 {
		t.Fatalf("valid record invalid after protojson round trip: %v", vs)
	}
	h2, err := ContentHash(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if h1 != h2 {
		t.Fatalf("protojson round trip changed the content hash\n%s", js)
	}
}
