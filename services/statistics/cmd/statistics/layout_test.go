package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// startStatistics runs the service until the returned stop is called
// (which fails the test if it does not shut down cleanly).
func startStatistics(t *testing.T, natsURL, redisURL string) (logs *syncBuffer, stop func()) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--nats-url", natsURL, "--redis-url", redisURL, "--grpc-addr", addr,
			"--http-addr", "", "--log-level", "debug", "--shutdown-timeout", "5s",
			"--gazetteer", "../../../../data/gazetteer/entities.ndjson"}, logs)
	}()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v\n%s", err, logs.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("service did not shut down")
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
		stop()
	})
	return logs, stop
}

// TestStatisticsRebuildsWhatItCannotServe: projections written under an
// older key layout, and ones a rebuild dropped before restarting its
// replay, are rebuilt from BILAT_ENRICHED when the service starts, though
// its consumer had handled every event before.
func TestStatisticsRebuildsWhatItCannotServe(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	r := testenv.Redis(t)
	ctx := context.Background()
	store, k := projection.New(r.Client), projection.NewKeys("")

	publish(t, n.JS, natsx.SubjectEnriched("agreement", "GE"), "e1", agreement("e1", 101, "a1", "GE", 2017, bilatv1.Domain_DOMAIN_TRADE))
	publish(t, n.JS, natsx.SubjectEnriched("trade_figure", "AF"), "t1", &bilatv1.TradeFigureRecorded{
		Envelope: &bilatv1.Envelope{EventId: "t1", Sequence: 102, RecordedAt: timestamppb.New(time.Unix(1700000102, 0))},
		Figure: &bilatv1.TradeFigure{Id: "f1", Partner: &bilatv1.EntityRef{Code: "AF"}, Reporter: &bilatv1.EntityRef{Code: "BY"},
			Period: &bilatv1.Period{Year: 2018}, Flow: bilatv1.TradeFlow_TRADE_FLOW_TURNOVER,
			Value: &bilatv1.Money{Currency: "USD", Units: 42_000_000}},
	})
	figures := func() int {
		pts, err := store.GetTradeSeries(ctx, projection.TradeFilter{Partner: "AF"})
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) == 0 {
			return 0
		}
		return len(pts[0].GetFigures())
	}
	served := func(what string) {
		t.Helper()
		// The marker first: an older layout's projections may read well
		// enough until the rebuild drops them.
		testenv.Eventually(t, 15*time.Second, what, func() bool {
			if r.Client.Get(ctx, k.LayoutMarker()).Val() != strconv.Itoa(projection.Layout) {
				return false
			}
			ids, err := store.ScanAgreements(ctx, projection.AgreementScan{Partner: "GE"})
			return err == nil && len(ids) == 1 && figures() == 1
		})
	}

	logs, stop := startStatistics(t, n.URL, r.URL)
	served("first start")
	stop()
	if strings.Contains(logs.String(), "rebuilding the projections") {
		t.Fatal("an empty store was rebuilt")
	}

	// rebuilt starts statistics over what an older build left, which old
	// tells apart from this build's projections, and checks that it
	// rebuilds, says why and leaves nothing old.
	rebuilt := func(layout, why string, old func() bool) {
		t.Helper()
		if !old() {
			t.Fatalf("no layout %s projection to rebuild: the test does not test anything", layout)
		}
		logs, stop := startStatistics(t, n.URL, r.URL)
		served("rebuild of layout " + layout)
		stop()
		if !strings.Contains(logs.String(), why) {
			t.Fatalf("the log does not say why it rebuilt:\n%s", logs.String())
		}
		if old() {
			t.Fatalf("a layout %s projection survived the rebuild", layout)
		}
	}
	// oldFigure: the figure is unreadable, or a key only an older layout
	// writes still exists.
	oldFigure := func(key string) func() bool {
		return func() bool { return figures() == 0 || r.Client.Exists(ctx, key).Val() != 0 }
	}

	// What a build of layout 1 left: no marker, the figure in a series
	// SET, none of the keys this build reads.
	oldSet := "bilat:{AF}:trade:key:BY|2018|turnover|unspecified"
	r.Client.Del(ctx, append(k.TradeFigureIndexes("AF"), k.LayoutMarker(), k.TradeCurrent("AF"))...)
	r.Client.SAdd(ctx, oldSet, "f1")
	r.Client.ZAdd(ctx, "bilat:{AF}:trade:keys", redis.Z{Score: 20180000, Member: "BY|2018|turnover|unspecified"})
	rebuilt("1", "layout 1", oldFigure(oldSet))

	// What a build of layout 2 left: every flow's figures in one index.
	oldIndex := "bilat:{AF}:trade:figs"
	r.Client.Set(ctx, k.LayoutMarker(), "2", 0)
	r.Client.Del(ctx, k.TradeFigureIndexes("AF")...)
	r.Client.ZAdd(ctx, oldIndex, redis.Z{Score: 20180000, Member: "BY|2018|turnover|unspecified|f1"})
	rebuilt("2", "layout 2, this build reads", oldFigure(oldIndex))

	// What a build of layout 3 left: an agreement's bytes without its
	// revision and updated_at, which its record HASH kept beside them.
	doc := k.AgreementDoc("GE", "a1")
	a, err := store.GetAgreement(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	a.Revision, a.UpdatedAt = 0, nil
	pb, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	r.Client.Set(ctx, k.LayoutMarker(), "3", 0)
	r.Client.HSet(ctx, doc, "pb", pb, "updated", 1700000101000000000)
	rebuilt("3", "layout 3, this build reads", func() bool {
		a, err := store.GetAgreement(ctx, "a1")
		return err != nil || a.GetRevision() == 0 || r.Client.HExists(ctx, doc, "updated").Val()
	})

	// A rebuild that dropped the projections and stopped before its
	// replay restarted.
	if err := store.MarkRebuilding(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	logs, stop = startStatistics(t, n.URL, r.URL)
	served("rebuild after an interrupted one")
	stop()
	if !strings.Contains(logs.String(), "a rebuild was interrupted") {
		t.Fatalf("the log does not say why it rebuilt:\n%s", logs.String())
	}
}
