package ports

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// wireMsg is a JetStream message with only a subject and a body.
type wireMsg struct {
	jetstream.Msg
	subject string
	data    []byte
}

func (m wireMsg) Subject() string { return m.subject }
func (m wireMsg) Data() []byte    { return m.data }

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RecordKey reads the id from the wire as decoding the event would give
// it, including where an encoding repeats a field (the last wins) or an
// embedded message (the occurrences merge).
func TestRecordKey(t *testing.T) {
	env := &bilatv1.Envelope{EventId: "evt-1", Source: "test"}
	a := &bilatv1.AgreementRecorded{Envelope: env, Agreement: &bilatv1.Agreement{Id: "agr-1", Title: "Agreement on cooperation in culture", Partner: &bilatv1.EntityRef{Name: "Georgia", Code: "GE"}}}
	noID := &bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Title: "no id here", Partner: &bilatv1.EntityRef{Name: "not an id"}}}
	other := &bilatv1.AgreementRecorded{Agreement: &bilatv1.Agreement{Id: "agr-2"}}
	f := &bilatv1.TradeFigureRecorded{Envelope: env, Figure: &bilatv1.TradeFigure{Id: "tf-1", Partner: &bilatv1.EntityRef{Name: "Afghanistan"}, Approximate: true}}
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	for _, c := range []struct {
		name, subject string
		data          []byte
		want          string
	}{
		{"agreement", "bilat.events.agreement.recorded", marshal(t, a), "agreement/agr-1"},
		{"trade figure", "bilat.events.trade_figure.recorded", marshal(t, f), "trade_figure/tf-1"},
		{"agreement retraction", "bilat.events.agreement.retracted", marshal(t, &bilatv1.AgreementRetracted{Envelope: env, AgreementId: "agr-1"}), "agreement/agr-1"},
		{"trade figure retraction", "bilat.events.trade_figure.retracted", marshal(t, &bilatv1.TradeFigureRetracted{Envelope: env, FigureId: "tf-1"}), "trade_figure/tf-1"},
		{"merged, later without id", "bilat.events.agreement.recorded", cat(marshal(t, a), marshal(t, noID)), "agreement/agr-1"},
		{"merged, later id wins", "bilat.events.agreement.recorded", cat(marshal(t, a), marshal(t, other)), "agreement/agr-2"},
		{"no id", "bilat.events.agreement.recorded", marshal(t, noID), ""},
		{"empty body", "bilat.events.agreement.recorded", nil, ""},
		{"truncated", "bilat.events.agreement.recorded", marshal(t, a)[:20], ""},
		{"not protobuf", "bilat.events.agreement.recorded", []byte{0xff, 0xff, 0xff}, ""},
		// The figure's bytes read as a valid UTF-8 string in the agreement_id field.
		{"body of another type", "bilat.events.agreement.retracted", marshal(t, f), "agreement/" + string(marshal(t, f.Figure))},
		{"invalid UTF-8 id", "bilat.events.agreement.retracted", []byte{0x12, 2, 0xff, 0xfe}, ""},
		{"unknown event", "bilat.events.agreement.signed", marshal(t, a), ""},
		{"short subject", "bilat.events", marshal(t, a), ""},
	} {
		got := RecordKey(wireMsg{subject: c.subject, data: c.data})
		if got != c.want {
			t.Errorf("%s: RecordKey = %q, want %q", c.name, got, c.want)
		}
		if dec := decodedKey(c.subject, c.data); got != dec {
			t.Errorf("%s: RecordKey = %q, decoding gives %q", c.name, got, dec)
		}
	}
}

// decodedKey is RecordKey by decoding the event.
func decodedKey(subject string, data []byte) string {
	var m proto.Message
	var id func() string
	switch subject {
	case "bilat.events.agreement.recorded":
		ev := &bilatv1.AgreementRecorded{}
		m, id = ev, func() string { return ev.GetAgreement().GetId() }
	case "bilat.events.trade_figure.recorded":
		ev := &bilatv1.TradeFigureRecorded{}
		m, id = ev, func() string { return ev.GetFigure().GetId() }
	case "bilat.events.agreement.retracted":
		ev := &bilatv1.AgreementRetracted{}
		m, id = ev, func() string { return ev.GetAgreementId() }
	case "bilat.events.trade_figure.retracted":
		ev := &bilatv1.TradeFigureRetracted{}
		m, id = ev, func() string { return ev.GetFigureId() }
	default:
		return ""
	}
	if proto.Unmarshal(data, m) != nil || id() == "" {
		return ""
	}
	parts := strings.Split(subject, ".")
	return parts[2] + "/" + id()
}

// BenchmarkRecordKey compares reading the id from the wire with decoding
// the event, for a typical agreement.
func BenchmarkRecordKey(b *testing.B) {
	a := &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: "evt-0123456789abcdef0123456789abcdef", Source: "bench"},
		Agreement: &bilatv1.Agreement{
			Id: "agr-0123456789abcdef", Title: "Agreement between the Government of the Republic of Belarus and the Government of Georgia on cooperation in culture",
			Partner: &bilatv1.EntityRef{Name: "Georgia", Code: "GE"}, Place: "Tbilisi",
			Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_CULTURE, bilatv1.Domain_DOMAIN_EDUCATION},
		},
	}
	data, err := proto.Marshal(a)
	if err != nil {
		b.Fatal(err)
	}
	const subject = "bilat.events.agreement.recorded"
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = RecordKey(wireMsg{subject: subject, data: data})
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = decodedKey(subject, data)
		}
	})
}
