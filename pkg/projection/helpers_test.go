package projection_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// fixedNow stamps updated_at in every test.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*projection.Store, *redis.Client) {
	t.Helper()
	r := testenv.Redis(t)
	return projection.New(r.Client, projection.WithClock(func() time.Time { return fixedNow })), r.Client
}

func ref(code string) *bilatv1.EntityRef {
	if code == "" {
		return &bilatv1.EntityRef{Name: "Somewhere", Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}
	}
	return &bilatv1.EntityRef{Name: code, Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: code}
}

func date(y, m, d int32) *bilatv1.PartialDate {
	return &bilatv1.PartialDate{Year: y, Month: m, Day: d}
}

// agr is one version of an agreement, carried by event evID at sequence seq.
func agr(evID string, seq uint64, id, partner string, signed *bilatv1.PartialDate, ds ...bilatv1.Domain) *bilatv1.AgreementRecorded {
	return &bilatv1.AgreementRecorded{
		Envelope: &bilatv1.Envelope{EventId: evID, Sequence: seq},
		Agreement: &bilatv1.Agreement{
			Id: id, Title: "Agreement " + id + " v" + fmt.Sprint(seq), Partner: ref(partner),
			SignedOn: signed, Domains: ds,
		},
	}
}

func fig(evID string, seq uint64, id, partner, reporter string, year, first, last int32,
	flow bilatv1.TradeFlow, scope bilatv1.TradeScope, usd int64, published *bilatv1.PartialDate) *bilatv1.TradeFigureRecorded {
	return &bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: evID, Sequence: seq},
		Figure: &bilatv1.TradeFigure{
			Id: id, Partner: ref(partner), Reporter: ref(reporter),
			Period: &bilatv1.Period{Year: year, FirstMonth: first, LastMonth: last},
			Flow:   flow, Scope: scope,
			Value:   &bilatv1.Money{Currency: "USD", Units: usd},
			Sources: []*bilatv1.Source{{Url: "https://example.org/" + id, Published: published}},
		},
	}
}

func applyA(t *testing.T, s *projection.Store, ev *bilatv1.AgreementRecorded, want projection.Outcome) {
	t.Helper()
	got, err := s.ApplyAgreement(context.Background(), ev)
	if err != nil {
		t.Fatalf("apply %s: %v", ev.GetEnvelope().GetEventId(), err)
	}
	if got != want {
		t.Fatalf("apply %s: outcome %v, want %v", ev.GetEnvelope().GetEventId(), got, want)
	}
}

func applyT(t *testing.T, s *projection.Store, ev *bilatv1.TradeFigureRecorded, want projection.Outcome) {
	t.Helper()
	got, err := s.ApplyTradeFigure(context.Background(), ev)
	if err != nil {
		t.Fatalf("apply %s: %v", ev.GetEnvelope().GetEventId(), err)
	}
	if got != want {
		t.Fatalf("apply %s: outcome %v, want %v", ev.GetEnvelope().GetEventId(), got, want)
	}
}

// countsHash is the raw counts HASH of a partner.
// countsHash is the domain part of a partner's counts hash ("<domain>|<year>",
// "all|<year>", "total"); the level, status and kind fields are tested apart.
func countsHash(t *testing.T, rdb *redis.Client, s *projection.Store, partner string) map[string]string {
	t.Helper()
	h, err := rdb.HGetAll(context.Background(), s.Keys().AgreementCounts(partner)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for f := range h {
		if strings.Count(f, "|") > 1 {
			delete(h, f)
		}
	}
	return h
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func zmembers(t *testing.T, rdb *redis.Client, key string) []string {
	t.Helper()
	m, err := rdb.ZRange(context.Background(), key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
