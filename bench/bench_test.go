package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var binDir string

func TestMain(m *testing.M) {
	// The bench starts this binary again as the NATS server, as the bare
	// gRPC server and as the NATS path's relays.
	if serveNATS() || serveConst() || serveRelay() {
		return
	}
	dir, err := os.MkdirTemp("", "bilat-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", binDir+"/",
		"./services/ingest/cmd/ingest", "./services/enrichment/cmd/enrichment",
		"./services/statistics/cmd/statistics", "./services/gateway/cmd/gateway")
	cmd.Dir = repoRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench: building the services failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// TestQuickModeSmoke runs every phase with tiny counts and checks that each
// figure is there and positive and that latest.json and the profiles are
// written. It asserts no speed: this machine's load is not the code's.
func TestQuickModeSmoke(t *testing.T) {
	cfg, err := presets("quick")
	if err != nil {
		t.Fatal(err)
	}
	cfg.BinDir, cfg.RepoRoot, cfg.OutDir = binDir, repoRoot(), t.TempDir()
	cfg.Events, cfg.StoreAgreements, cfg.BaselineEvents = 300, 1000, 1000
	cfg.FreshFor, cfg.QueryFor, cfg.ProfileFor = time.Second, 300*time.Millisecond, time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	res, err := Run(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	res.Table(&table)
	t.Log("\n" + table.String())

	withBaseline := []string{
		"pipeline throughput, gRPC Import door", "pipeline throughput, raw JetStream door", "pipeline throughput, both doors",
		"NATS path alone (3 relays, no work)", "pipeline throughput, raw JetStream door, of the NATS path",
		"rebuild", "projection apply direct, 1 writer", "projection apply direct, 16 writers",
		"ListAgreements (partner+domain, page 50) throughput", "ListAgreements (partner+domain, page 50) p50", "ListAgreements (partner+domain, page 50) p99",
		"GetAgreement throughput", "GetAgreement p50", "GetAgreement p99",
		"GetTradeSeries (turnover) throughput", "GetTradeSeries (turnover) p50", "GetTradeSeries (turnover) p99",
		"ListAgreements (partner+domain, page 50) p50 at half load", "ListAgreements (partner+domain, page 50) p99 at half load",
		"GetAgreement p50 at half load", "GetAgreement p99 at half load",
		"GetTradeSeries (turnover) p50 at half load", "GetTradeSeries (turnover) p99 at half load",
		"freshness p50 at half load", "freshness p99 at half load", "freshness max at half load",
	}
	plain := []string{
		"  hop ingest (PubAck to BILAT_EVENTS) p50", "  hop ingest (PubAck to BILAT_EVENTS) p99",
		"  hop enrichment (BILAT_EVENTS to BILAT_ENRICHED) p50", "  hop enrichment (BILAT_EVENTS to BILAT_ENRICHED) p99",
		"  hop statistics and read (BILAT_ENRICHED to GetAgreement) p50", "  hop statistics and read (BILAT_ENRICHED to GetAgreement) p99",
		"Redis memory per agreement",
		"stage ingest: mean handle+ack per message", "stage enrichment: mean handle+ack per message",
		"stage statistics: mean handle+ack per message", "stage statistics during rebuild: mean handle+ack",
		"peak RSS ingest", "peak RSS enrichment", "peak RSS statistics", "peak RSS gateway", "peak RSS redis-server",
		"peak RSS bench (in-process NATS + load)",
	}
	for _, name := range append(withBaseline, plain...) {
		f, ok := res.Get(name)
		if !ok {
			t.Errorf("figure %q missing", name)
			continue
		}
		if !(f.Value > 0) {
			t.Errorf("figure %q = %v, want > 0", name, f.Value)
		}
	}
	for _, name := range withBaseline {
		f, _ := res.Get(name)
		if f.Baseline == nil || !(*f.Baseline > 0) || f.Ratio == nil || !(*f.Ratio > 0) {
			t.Errorf("figure %q: baseline %v ratio %v, want both > 0", name, f.Baseline, f.Ratio)
		}
	}

	b, err := os.ReadFile(filepath.Join(cfg.OutDir, "latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("latest.json: %v", err)
	}
	if len(back.Figures) != len(res.Figures) {
		t.Errorf("latest.json has %d figures, the run %d", len(back.Figures), len(res.Figures))
	}
	// -print reprints the saved result's table as the run printed it.
	var reprinted strings.Builder
	if err := cli([]string{"-print", filepath.Join(cfg.OutDir, "latest.json")}, &reprinted); err != nil {
		t.Fatalf("-print: %v", err)
	}
	if !strings.Contains(reprinted.String(), table.String()) {
		t.Errorf("-print did not reprint the run's table:\n%s", reprinted.String())
	}
	for _, p := range []string{"pipeline-statistics.cpu.pprof", "pipeline-bench.cpu.pprof", "nats-path-bench.cpu.pprof", "nats-path-relay-ingest.cpu.pprof", "nats-path-relay-statistics.cpu.pprof", "query-list-gateway.cpu.pprof", "query-get-gateway.cpu.pprof", "query-trade-gateway.cpu.pprof", "statistics.allocs.pprof"} {
		if st, err := os.Stat(filepath.Join(cfg.OutDir, "profiles", p)); err != nil || st.Size() == 0 {
			t.Errorf("profile %s not written: %v", p, err)
		}
	}
	// Redis' account of a phase names the commands that phase sends.
	for file, cmd := range map[string]string{
		"baseline-redis-redis.commandstats.txt": "zadd",
		"query-list-redis.commandstats.txt":     "hget",
		"query-trade-redis.commandstats.txt":    "zrange",
	} {
		b, err := os.ReadFile(filepath.Join(cfg.OutDir, "profiles", file))
		if err != nil {
			t.Errorf("Redis command statistics %s not written: %v", file, err)
			continue
		}
		if !strings.Contains(string(b), "\n"+cmd+" ") {
			t.Errorf("Redis command statistics %s do not name %s:\n%s", file, cmd, b)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var l latencies
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	s := l.sorted()
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := s.pct(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := (latencies{}).pct(99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestBuildGazetteer(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.ndjson")
	lines := []string{
		`{"code":"BY","kind":"ENTITY_KIND_COUNTRY","name":"Belarus","side":"home"}`,
		`{"code":"BY.mfa","kind":"ENTITY_KIND_ORGANISATION","name":"Ministry of Foreign Affairs","side":"home"}`,
		`{"code":"GE","kind":"ENTITY_KIND_COUNTRY","name":"Georgia","side":"partner"}`,
		`{"code":"US-GA","kind":"ENTITY_KIND_REGION","name":"Georgia State","aliases":["Georgia"],"side":"partner"}`,
		`{"code":"RU-STA","kind":"ENTITY_KIND_REGION","name":"Stavropol Krai","side":"partner"}`,
		`{"code":"GE-AJ.batumi","kind":"ENTITY_KIND_CITY","name":"Batumi","side":"partner"}`,
	}
	if err := os.WriteFile(src, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := buildGazetteer(src, dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, p := range g.partners {
		codes = append(codes, p.code)
	}
	// "Georgia" is ambiguous (an alias of US-GA), cities are not partners,
	// and two synthetic regions make up the four asked for.
	want := "US-GA RU-STA XB-R001 XB-R002"
	if got := strings.Join(codes, " "); got != want || g.synthetic != 2 {
		t.Errorf("partners = %s (synthetic %d), want %s (synthetic 2)", got, g.synthetic, want)
	}
	if len(g.home) != 1 || g.home[0] != "Ministry of Foreign Affairs" {
		t.Errorf("home parties = %v", g.home)
	}
	b, err := os.ReadFile(g.path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != len(lines)+2 {
		t.Errorf("bench gazetteer has %d lines, want %d", n, len(lines)+2)
	}
}
