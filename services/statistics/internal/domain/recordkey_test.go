package domain

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestRecordKey(t *testing.T) {
	enc := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		subject string
		data    []byte
		want    string
	}{
		{"bilat.enriched.agreement.GE", enc(&bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Id: "a1"}}), "agreement/a1"},
		// A version that moves partner keeps the same key: one worker.
		{"bilat.enriched.agreement.unresolved", enc(&bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Id: "a1"}}), "agreement/a1"},
		{"bilat.enriched.agreement.retracted", enc(&bilatv1.AgreementRetracted{AgreementId: "a1"}), "agreement/a1"},
		{"bilat.enriched.trade_figure.AF", enc(&bilatv1.TradeFigureRecorded{Figure: &bilatv1.TradeFigure{Id: "f1"}}), "trade_figure/f1"},
		{"bilat.enriched.trade_figure.retracted", enc(&bilatv1.TradeFigureRetracted{FigureId: "f1"}), "trade_figure/f1"},
		{"bilat.enriched.agreement.GE", []byte{0xff, 0xff}, ""},
		{"bilat.other", nil, ""},
	}
	for _, c := range cases {
		if got := RecordKey(c.subject, c.data); got != c.want {
			t.Errorf("RecordKey(%s) = %q, want %q", c.subject, got, c.want)
		}
	}
}

// RecordKey reads from the bytes the id that decoding the event gives,
// whatever else the event holds and however its fields were split.
func TestRecordKeyAgreesWithDecoding(t *testing.T) {
	decoded := func(subject string, data []byte) string {
		switch KindOf(subject) {
		case KindAgreement:
			var ev bilatv1.AgreementRecorded
			if proto.Unmarshal(data, &ev) == nil {
				return "agreement/" + ev.GetAgreement().GetId()
			}
		case KindTradeFigure:
			var ev bilatv1.TradeFigureRecorded
			if proto.Unmarshal(data, &ev) == nil {
				return "trade_figure/" + ev.GetFigure().GetId()
			}
		}
		return ""
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		a := &bilatv1.Agreement{Title: strings.Repeat("t", r.IntN(300)), Partner: &bilatv1.EntityRef{Code: "GE"}}
		if r.IntN(4) > 0 {
			a.Id = fmt.Sprintf("agr-%d", i)
		}
		ev := &bilatv1.AgreementRecorded{Envelope: &bilatv1.Envelope{EventId: "e", Sequence: uint64(i)}, Agreement: a}
		data, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(3) == 0 {
			// A second occurrence of the agreement field merges into the first.
			more, _ := proto.Marshal(&bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Note: "n", Id: []string{"", "other"}[r.IntN(2)]}})
			data = append(data, more...)
		}
		if got, want := RecordKey("bilat.enriched.agreement.GE", data), decoded("bilat.enriched.agreement.GE", data); got != want {
			t.Fatalf("event %d: RecordKey = %q, decoding gives %q", i, got, want)
		}
		f, _ := proto.Marshal(&bilatv1.TradeFigureRecorded{Figure: &bilatv1.TradeFigure{Id: a.Id, Reporter: &bilatv1.EntityRef{Code: "BY"}}})
		if got, want := RecordKey("bilat.enriched.trade_figure.AF", f), decoded("bilat.enriched.trade_figure.AF", f); got != want {
			t.Fatalf("figure %d: RecordKey = %q, decoding gives %q", i, got, want)
		}
	}
	bad := string([]byte{0xff})
	data, _ := proto.Marshal(&bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Title: "x"}})
	data = append(data, append([]byte{0x12, 0x03, 0x0a, 0x01}, bad...)...) // agreement{id: "\xff"}
	if got := RecordKey("bilat.enriched.agreement.GE", data); got != "" {
		t.Errorf("an id that is not UTF-8 gave %q", got)
	}
}
