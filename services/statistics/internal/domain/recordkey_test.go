package domain

import (
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
