package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// (d) 10,000 events imported while the statistics process is killed with
// SIGKILL and restarted: afterwards every count is exact.
func TestImportSurvivesStatisticsCrash(t *testing.T) {
	st := newStack(t)
	const n = 10_000
	partners := []struct{ name, code string }{{"Georgia", "GE"}, {"China", "CN"}, {"Afghanistan", "AF"}, {"Stavropol Krai", "RU-STA"}}
	domains := []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_CULTURE, bilatv1.Domain_DOMAIN_HEALTH, bilatv1.Domain_DOMAIN_EDUCATION}

	// want[partner][domain|year] is the model the projections must match.
	want := map[string]map[string]int64{}
	wantTotal := map[string]int64{}
	path := filepath.Join(t.TempDir(), "load.ndjson")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		p := partners[i%len(partners)]
		year := int32(2000 + i%20)
		ds := []bilatv1.Domain{domains[i%len(domains)]}
		if i%3 == 0 {
			ds = append(ds, domains[(i+1)%len(domains)])
		}
		line, err := protojson.Marshal(&bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_Agreement{Agreement: agreement(fmt.Sprintf("load-%05d", i), p.name, year, ds...)}})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(line)
		w.WriteByte('\n')
		if want[p.code] == nil {
			want[p.code] = map[string]int64{}
		}
		for _, d := range ds {
			want[p.code][fmt.Sprintf("%v|%d", d, year)]++
		}
		wantTotal[p.code]++
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := st.bilat("import", path, "--quiet")
		done <- result{out, errOut, code}
	}()

	// Kill statistics twice while events flow, each time once it has made
	// progress, then bring it back.
	stats := st.services["statistics"]
	for round := 1; round <= 2; round++ {
		target := uint64(round * n / 4)
		testenv.Eventually(t, 3*time.Minute, fmt.Sprintf("statistics to ack %d events", target), func() bool {
			return st.consumerAcked("BILAT_ENRICHED", "statistics") >= target
		})
		stats.kill(t)
		time.Sleep(500 * time.Millisecond)
		stats.start(t)
		st.waitServing("statistics")
	}

	var res result
	select {
	case res = <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("import did not finish in 5 minutes")
	}
	if res.code != 0 || !strings.Contains(res.out, fmt.Sprint(n)) {
		t.Fatalf("bilat import: code %d\n%s\n%s", res.code, res.out, res.errOut)
	}
	st.pipelineIdle(5 * time.Minute)

	ctx := ctxT(t, time.Minute)
	var sum int64
	for _, p := range partners {
		list, err := st.agreements().ListAgreements(ctx, &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: p.code}, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		if list.TotalSize != wantTotal[p.code] {
			t.Errorf("%s: %d agreements listed, want %d", p.code, list.TotalSize, wantTotal[p.code])
		}
		sum += list.TotalSize
		counts, err := st.statistics().GetAgreementCounts(ctx, &bilatv1.GetAgreementCountsRequest{Partner: p.code})
		if err != nil {
			t.Fatal(err)
		}
		if counts.TotalAgreements != wantTotal[p.code] {
			t.Errorf("%s: total %d, want %d", p.code, counts.TotalAgreements, wantTotal[p.code])
		}
		got := map[string]int64{}
		for _, c := range counts.Counts {
			got[fmt.Sprintf("%v|%d", c.Domain, c.Year)] = c.Count
		}
		for k, v := range want[p.code] {
			if got[k] != v {
				t.Errorf("%s %s: count %d, want %d", p.code, k, got[k], v)
			}
		}
		if len(got) != len(want[p.code]) {
			t.Errorf("%s: %d count cells, want %d", p.code, len(got), len(want[p.code]))
		}
	}
	if sum != n {
		t.Fatalf("%d agreements in all, want %d", sum, n)
	}
}

func (st *stack) consumerAcked(stream, durable string) uint64 {
	cons, err := st.nats.JS.Consumer(context.Background(), stream, durable)
	if err != nil {
		return 0
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		return 0
	}
	return info.AckFloor.Stream
}

// (e) The book's data loaded by make run's loader gives the agreement and
// trade counts that data/ holds, and loading it again adds nothing.
func TestBookDataLoads(t *testing.T) {
	st := newStack(t)
	wantAgreements := countLines(t, "data/agreements.ndjson")
	wantFigures := countLines(t, "data/trade.ndjson")

	for round := 1; round <= 2; round++ {
		for _, file := range []string{"data/agreements.ndjson", "data/trade.ndjson"} {
			out, errOut, code := st.bilat("import", file, "--quiet", "-o", "json")
			if code != 0 {
				t.Fatalf("round %d: bilat import %s: code %d\n%s\n%s", round, file, code, out, errOut)
			}
			if round == 2 && !strings.Contains(strings.ReplaceAll(out, " ", ""), `"accepted":0`) {
				t.Fatalf("second load of %s accepted something: %s", file, out)
			}
		}
		st.pipelineIdle(time.Minute)
		ctx := ctxT(t, time.Minute)
		all, err := st.agreements().ListAgreements(ctx, &bilatv1.ListAgreementsRequest{PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		if int(all.TotalSize) != wantAgreements || len(all.Agreements) != wantAgreements {
			t.Fatalf("round %d: gateway lists %d agreements (%d on the page), data/ holds %d", round, all.TotalSize, len(all.Agreements), wantAgreements)
		}
		if got := st.tradeFigureCount(ctx); got != wantFigures {
			t.Fatalf("round %d: gateway serves %d trade figures, data/ holds %d", round, got, wantFigures)
		}
	}
	// The book's Georgian agreements are there, by partner.
	ge, err := st.agreements().ListAgreements(ctxT(t, time.Minute), &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: "GE"}, PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	if ge.TotalSize == 0 {
		t.Fatal("no agreements with Georgia")
	}
}

// tradeFigureCount sums the figures the gateway serves over every partner
// named in data/trade.ndjson (resolved by the gazetteer, as enrichment does).
func (st *stack) tradeFigureCount(ctx context.Context) int {
	st.t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "data/trade.ndjson"))
	if err != nil {
		st.t.Fatal(err)
	}
	defer f.Close()
	gz := bilatv1.NewGazetteerServiceClient(st.conns["enrichment"])
	codes := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var req bilatv1.ImportRequest
		if err := protojson.Unmarshal(sc.Bytes(), &req); err != nil {
			st.t.Fatal(err)
		}
		r, err := gz.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: req.GetTradeFigure().GetPartner().GetName()})
		if err != nil {
			st.t.Fatal(err)
		}
		code := r.GetEntity().GetCode()
		if code == "" {
			code = "unresolved"
		}
		codes[code] = true
	}
	n := 0
	for code := range codes {
		s, err := st.trade().GetTradeSeries(ctx, &bilatv1.GetTradeSeriesRequest{Partner: code})
		if err != nil {
			st.t.Fatal(err)
		}
		for _, p := range s.Points {
			n += len(p.Figures)
		}
	}
	return n
}
