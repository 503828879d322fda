package wirefield

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func enc(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var agreementID = Path(&bilatv1.AgreementRecorded{}, "agreement", "id")

// String gives what decoding gives, whatever else the message holds and
// however its fields were split into occurrences.
func TestStringAgreesWithDecoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		a := &bilatv1.Agreement{Title: strings.Repeat("t", r.IntN(300)), Partner: &bilatv1.EntityRef{Name: "Georgia", Code: "GE"}}
		if r.IntN(4) > 0 {
			a.Id = fmt.Sprintf("agr-%d", i)
		}
		data := enc(t, &bilatv1.AgreementRecorded{Envelope: &bilatv1.Envelope{EventId: "e", Sequence: uint64(i)}, Agreement: a})
		if r.IntN(3) == 0 {
			// A second occurrence of the agreement field merges into the first.
			data = append(data, enc(t, &bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Note: "n", Id: []string{"", "other"}[r.IntN(2)]}})...)
		}
		var ev bilatv1.AgreementRecorded
		if err := proto.Unmarshal(data, &ev); err != nil {
			t.Fatal(err)
		}
		if got, ok := String(data, agreementID); !ok || got != ev.GetAgreement().GetId() {
			t.Fatalf("event %d: String = %q, %v; decoding gives %q", i, got, ok, ev.GetAgreement().GetId())
		}
	}
}

func TestStringMalformed(t *testing.T) {
	whole := enc(t, &bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Id: "agr-1", Title: "Agreement on cooperation in culture"}})
	notUTF8 := append(enc(t, &bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Title: "x"}}), 0x12, 0x03, 0x0a, 0x01, 0xff) // agreement{id: "\xff"}
	for name, data := range map[string][]byte{
		"truncated":    whole[:len(whole)-3],
		"not protobuf": {0xff, 0xff, 0xff},
		"not UTF-8":    notUTF8,
	} {
		if got, ok := String(data, agreementID); ok {
			t.Errorf("%s: String = %q, ok", name, got)
		}
	}
	if got, ok := String(nil, agreementID); !ok || got != "" {
		t.Errorf("empty message: %q, %v; want \"\", true", got, ok)
	}
}

func TestPathOfAMissingField(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a field the message does not have")
		}
	}()
	Path(&bilatv1.AgreementRecorded{}, "agreement", "no_such_field")
}
