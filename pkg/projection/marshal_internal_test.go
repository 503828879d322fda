package projection

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// marshalRecord must give the bytes of the message with the owned fields
// cleared, whichever fields are set around them.
func TestMarshalRecordDropsOwnedFields(t *testing.T) {
	ts := timestamppb.New(timestamppb.Now().AsTime())
	for name, m := range map[string]proto.Message{
		"agreement": &bilatv1.Agreement{Id: "a1", Title: "Agreement", Revision: 3, UpdatedAt: ts,
			Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE}, Partner: &bilatv1.EntityRef{Code: "GE"}},
		"agreement without owned fields": &bilatv1.Agreement{Id: "a2", Title: "T"},
		"only owned fields":              &bilatv1.Agreement{Revision: 1, UpdatedAt: ts},
		"trade figure":                   &bilatv1.TradeFigure{Id: "f1", Revision: 2, UpdatedAt: ts, Partner: &bilatv1.EntityRef{Code: "AF"}},
	} {
		c := proto.Clone(m)
		switch v := c.(type) {
		case *bilatv1.Agreement:
			v.Revision, v.UpdatedAt = 0, nil
		case *bilatv1.TradeFigure:
			v.Revision, v.UpdatedAt = 0, nil
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := marshalRecord(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: marshalRecord = %x, want %x", name, got, want)
		}
	}
}

var wireTimes = []time.Time{
	time.Unix(0, 0).UTC(), time.Unix(1700000000, 0).UTC(), time.Unix(0, 5).UTC(),
	time.Date(2026, 11, 27, 17, 45, 12, 123456789, time.UTC), time.Date(1969, 12, 31, 23, 0, 0, 1, time.UTC),
}

// The wire encoding of a stored trade figure decodes to the figure as it
// was received with the projection's revision and updated_at set, whatever
// the times and revisions.
func TestWireRecordIsTheStoredFigureWithOwnedFields(t *testing.T) {
	for _, rec := range []*bilatv1.TradeFigure{{Id: "f1", Partner: &bilatv1.EntityRef{Code: "AF"}}, {}} {
		for _, rev := range []int32{0, 1, 300, -2} {
			for _, at := range wireTimes {
				data, err := marshalRecord(rec)
				if err != nil {
					t.Fatal(err)
				}
				want := proto.Clone(rec).(*bilatv1.TradeFigure)
				want.Revision, want.UpdatedAt = rev, timestamppb.New(at)
				got := &bilatv1.TradeFigure{}
				if err := proto.Unmarshal(wireRecord(string(data), Version{Revision: rev, UpdatedAt: at}, figureOwned), got); err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(got, want) {
					t.Errorf("rev %d at %v: wire decodes to %v, want %v", rev, at, got, want)
				}
			}
		}
	}
}

// An agreement's stored bytes, updated_at appended by Go and the revision
// by the apply script, decode to the agreement as it was received with
// the projection's revision and updated_at set, whatever the times and
// revisions: the script's varint is checked at every length up to the
// largest revision.
func TestStoredAgreementIsItsWireEncoding(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	revs := []int64{0, 126, 127, 128, 299, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, 1<<31 - 2}
	for i, at := range wireTimes {
		s := New(r.Client, WithClock(func() time.Time { return at }))
		for j, base := range revs {
			ev := agreementEvent(fmt.Sprintf("e%d-%d", i, j), 10, fmt.Sprintf("a%d-%d", i, j), "GE", 2018, bilatv1.Domain_DOMAIN_TRADE)
			ev.Agreement.Revision, ev.Agreement.UpdatedAt = 7, timestamppb.Now() // the projection's own replace them
			rec, err := s.agreementRecord(ev)
			if err != nil {
				t.Fatal(err)
			}
			keys, args := rec.applyCall("", base) // no stored version
			if err := applyAgreementsScript.Run(ctx, r.Client, keys, args...).Err(); err != nil {
				t.Fatal(err)
			}
			b, err := r.Client.HGet(ctx, s.keys.AgreementDoc("GE", ev.Agreement.Id), fieldData).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeAgreement(b)
			if err != nil {
				t.Fatal(err)
			}
			want := proto.Clone(ev.Agreement).(*bilatv1.Agreement)
			want.Revision, want.UpdatedAt = int32(base+1), timestamppb.New(at)
			if !proto.Equal(got, want) {
				t.Errorf("revision %d at %v: stored agreement decodes to %v, want %v", base+1, at, got, want)
			}
		}
	}
}

// A history entry holds the metadata and the partner; parseHistoryEntry
// reads back what historyEntry and the history script wrote.
func TestHistoryEntryRoundTrip(t *testing.T) {
	env := &bilatv1.Envelope{EventId: "e1", Source: "grpc:test", RecordedAt: timestamppb.Now(), Sequence: 7}
	entry, err := historyEntry(env, "GE", "", false)
	if err != nil {
		t.Fatal(err)
	}
	r, partner, err := parseHistoryEntry("7", "7168:"+string(entry))
	if err != nil {
		t.Fatal(err)
	}
	if partner != "GE" || r.Sequence != 7 || r.OrderKey != 7168 || r.GetEventId() != "e1" || r.GetSource() != "grpc:test" ||
		!proto.Equal(r.GetRecordedAt(), env.GetRecordedAt()) || r.GetAgreement() != nil {
		t.Errorf("round trip = %v, partner %q", r, partner)
	}
	if _, _, err := parseHistoryEntry("7", "7168"); err == nil {
		t.Error("an entry without a partner parsed")
	}
}

// A record HASH without a current version (nothing, or a record moved
// away or retracted: rev and history only) reads as none, not as an error.
func TestRecordBytesWithoutAVersion(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	if err := r.Client.HSet(ctx, "moved", fieldRev, 3, "b:9", "x").Err(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"absent", "moved"} {
		pipe := r.Client.Pipeline()
		cmd := readRecord(ctx, pipe, key)
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		if b, ok, err := recordBytes(cmd); ok || err != nil || b != nil {
			t.Errorf("%s: recordBytes = %x, %v, %v", key, b, ok, err)
		}
	}
}

// viewFigure reads from the bytes what decoding the whole figure gives.
func TestViewFigureAgreesWithDecoding(t *testing.T) {
	src := func(y, m, d int32) *bilatv1.Source {
		return &bilatv1.Source{Url: "https://example.org", Publisher: "Belstat", Quote: "turnover grew",
			Published: &bilatv1.PartialDate{Year: y, Month: m, Day: d}}
	}
	figs := []*bilatv1.TradeFigure{
		{},
		{Id: "f1", Period: &bilatv1.Period{Year: 2019}},
		{Id: "f2", Period: &bilatv1.Period{Year: 2021, FirstMonth: 1, LastMonth: 6},
			Sources:  []*bilatv1.Source{src(2020, 3, 0), src(2022, 1, 15), {Url: "undated"}, src(2021, 12, 31)},
			Reporter: &bilatv1.EntityRef{Code: "BY"}, Partner: &bilatv1.EntityRef{Code: "AF"}, Approximate: true, Revision: 4},
		{Id: "f3", Sources: []*bilatv1.Source{{Url: "only undated"}}},
	}
	for _, f := range figs {
		b, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := viewFigure(b)
		if err != nil {
			t.Fatalf("%s: %v", f.GetId(), err)
		}
		var newest int64
		for _, s := range f.GetSources() {
			newest = max(newest, DateScore(s.GetPublished()))
		}
		period, err := v.decodePeriod()
		if err != nil {
			t.Fatalf("%s: %v", f.GetId(), err)
		}
		if v.newestSource != newest || !proto.Equal(period, f.GetPeriod()) {
			t.Errorf("%s: view = %d %v, want %d %v", f.GetId(), v.newestSource, period, newest, f.GetPeriod())
		}
	}
	// Fields that occur more than once merge, as proto.Unmarshal merges
	// them: a period stated twice, a publication date split across two
	// occurrences within one source.
	var b []byte
	for _, m := range []proto.Message{
		&bilatv1.TradeFigure{Id: "merged", Period: &bilatv1.Period{Year: 2018, FirstMonth: 1}},
		&bilatv1.TradeFigure{Period: &bilatv1.Period{LastMonth: 9}},
	} {
		part, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, part...)
	}
	var source []byte
	for _, s := range []*bilatv1.Source{{Published: &bilatv1.PartialDate{Year: 2030, Month: 3}}, {Published: &bilatv1.PartialDate{Day: 9}}} {
		part, err := proto.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		source = append(source, part...)
	}
	b = protowire.AppendBytes(protowire.AppendTag(b, figureSources, protowire.BytesType), source)
	want := &bilatv1.TradeFigure{}
	if err := proto.Unmarshal(b, want); err != nil {
		t.Fatal(err)
	}
	v, err := viewFigure(b)
	if err != nil {
		t.Fatal(err)
	}
	period, err := v.decodePeriod()
	if err != nil {
		t.Fatal(err)
	}
	if v.newestSource != DateScore(want.GetSources()[0].GetPublished()) || v.newestSource != 20300309 || !proto.Equal(period, want.GetPeriod()) {
		t.Errorf("merged: view = %d %v, want %v", v.newestSource, period, want)
	}
	if _, err := viewFigure([]byte{0x22, 0x05, 0x08}); err == nil {
		t.Error("a truncated figure was read without error")
	}
}

// A series key reads back as the reporter, flow and scope it was made of;
// anything but four parts is malformed.
func TestSeriesKeyRoundTrip(t *testing.T) {
	for f := range bilatv1.TradeFlow_name {
		for s := range bilatv1.TradeScope_name {
			flow, scope := bilatv1.TradeFlow(f), bilatv1.TradeScope(s)
			key := SeriesKey("BY-HM", &bilatv1.Period{Year: 2021, FirstMonth: 1, LastMonth: 6}, flow, scope)
			got, ok := parseSeriesKey(key)
			if !ok || got != (seriesParts{reporter: "BY-HM", flow: flow, scope: scope}) {
				t.Errorf("parseSeriesKey(%q) = %+v, %v", key, got, ok)
			}
			if pf, ok := ParseFlow(strings.ToUpper(FlowName(flow))); !ok || pf != flow {
				t.Errorf("ParseFlow(upper %q) = %v, %v", FlowName(flow), pf, ok)
			}
		}
	}
	if f, ok := ParseFlow("17"); !ok || f != 17 {
		t.Errorf("ParseFlow(17) = %v, %v", f, ok)
	}
	for _, bad := range []string{"BY|2021|turnover", "BY|2021|turnover|goods|x", "BY|2021|sideways|goods", ""} {
		if _, ok := parseSeriesKey(bad); ok {
			t.Errorf("parseSeriesKey(%q) accepted", bad)
		}
	}
}

// A figure index member splits back into its series key and figure id,
// even when the id holds "|"; a member without an id or with a malformed
// series key does not.
func TestFigureMemberRoundTrip(t *testing.T) {
	series := SeriesKey("BY-HM", &bilatv1.Period{Year: 2021, FirstMonth: 1, LastMonth: 6},
		bilatv1.TradeFlow_TRADE_FLOW_TURNOVER, bilatv1.TradeScope_TRADE_SCOPE_GOODS)
	for _, id := range []string{"f1", "belstat|2021|h1", "a|b|c|d|e"} {
		gotSeries, parts, gotID, ok := parseFigureMember(figureMember(series, id))
		if !ok || gotSeries != series || gotID != id || parts.reporter != "BY-HM" ||
			parts.flow != bilatv1.TradeFlow_TRADE_FLOW_TURNOVER || parts.scope != bilatv1.TradeScope_TRADE_SCOPE_GOODS {
			t.Errorf("parseFigureMember(%q) = %q %+v %q %v", figureMember(series, id), gotSeries, parts, gotID, ok)
		}
	}
	for _, bad := range []string{series, series + "|", "BY|2021|sideways|goods|f1", "BY|2021|turnover|f1", ""} {
		if _, _, _, ok := parseFigureMember(bad); ok {
			t.Errorf("parseFigureMember(%q) accepted", bad)
		}
	}
}

// A TradeCurrent value reads back as the wire record of its bytes and
// version; one that is not "<revision>:<updated>:<bytes>" is an error.
func TestCurrentWire(t *testing.T) {
	f := &bilatv1.TradeFigure{Id: "f|1", Partner: &bilatv1.EntityRef{Code: "AF"}, Value: &bilatv1.Money{Units: 12}}
	data, err := marshalRecord(f)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 17, 45, 12, 5, time.UTC)
	got, err := currentWire("3:" + encodeTime(at) + ":" + string(data))
	if err != nil {
		t.Fatal(err)
	}
	if want := wireRecord(string(data), Version{Revision: 3, UpdatedAt: at}, figureOwned); !bytes.Equal(got, want) {
		t.Fatalf("currentWire = %x, want %x", got, want)
	}
	for _, bad := range []any{"3:" + string(data), "x:1:" + string(data), "3:y:", int64(3)} {
		if _, err := currentWire(bad); err == nil {
			t.Errorf("currentWire(%q) accepted", bad)
		}
	}
}
