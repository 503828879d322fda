package dev

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bilat.dev/cmd/bilat/internal/client"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// syncBuffer is a bytes.Buffer safe for the supervisor's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeInfra records when NATS and Redis start and stop, in the same order
// file the fake services write to.
type fakeInfra struct{ dir string }

func (f fakeInfra) StartNATS(port int, storeDir string) (string, func() error, error) {
	record(f.dir, "nats:start")
	return "nats://127.0.0.1:1", func() error { record(f.dir, "nats:stop"); return nil }, nil
}

func (f fakeInfra) StartRedis(_ context.Context, port int, dir, logFile string) (string, func() error, error) {
	record(f.dir, "redis:start")
	return "redis://127.0.0.1:1/0", func() error { record(f.dir, "redis:stop"); return nil }, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// devSetup makes a bin dir whose service binaries are symlinks to this
// test binary, and a config that runs them as fake services.
func devSetup(t *testing.T, extraEnv ...string) (Config, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := testExe(t)
	var services []Service
	for _, n := range serviceNames {
		if err := os.Symlink(exe, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
		services = append(services, Service{Name: n, GRPCAddr: freeAddr(t), HTTPAddr: "127.0.0.1:0"})
	}
	data := filepath.Join(dir, "data.ndjson")
	lines := `{"agreement":{"id":"ge-1","title":"One"}}` + "\n\n" +
		`{"tradeFigure":{"id":"af-2018"}}` + "\n" +
		`{"agreement":{"id":"ge-2","title":"Two"}}` + "\n" +
		`{broken` + "\n"
	if err := os.WriteFile(data, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		DataDir:      filepath.Join(dir, "run"),
		BinDir:       bin,
		Services:     services,
		Load:         []string{data},
		StartTimeout: 20 * time.Second,
		StopTimeout:  5 * time.Second,
		LoadWait:     10 * time.Second,
		Self:         "bin/bilat",
		Getenv:       func(string) string { return "" },
		Environ:      append(append(os.Environ(), envRole+"=service", envDir+"="+dir), extraEnv...),
		Infra:        fakeInfra{dir: dir},
		LoadFile: func(ctx context.Context, ingest bilatv1.IngestServiceClient, file string) (*client.ImportResult, error) {
			f, err := os.Open(file)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return client.Import(ctx, func(ctx context.Context) (client.ImportStream, error) { return ingest.Import(ctx) }, f, nil)
		},
	}
	return cfg, dir
}

func waitOutput(t *testing.T, out *syncBuffer, want string, errc <-chan error) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(out.String(), want) {
		select {
		case err := <-errc:
			t.Fatalf("Run returned early: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("no %q in output:\n%s", want, out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestRunUpLoadAndCtrlC(t *testing.T) {
	cfg, dir := devSetup(t)
	out := &syncBuffer{}
	cfg.Stdout = out
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()

	waitOutput(t, out, "Ctrl-C stops everything", errc)
	text := out.String()
	for _, want := range []string{
		"ingest     | fake ingest listening on " + cfg.Services[0].GRPCAddr,
		"gateway    | fake gateway: stderr works too",
		"loaded " + cfg.Load[0] + ": 4 lines, 3 accepted, 0 duplicates, 1 rejected",
		"  line 5: not a bilat.v1.ImportRequest",
		"the gateway lists 2 agreements\n",
		"bin/bilat agreements list --partner Georgia --with-subentities --from 2017 --gateway " + cfg.Services[3].GRPCAddr,
		"bin/bilat trade balance AF",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	cancel() // Ctrl-C
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after Ctrl-C")
	}
	want := "nats:start redis:start gateway:TERM statistics:TERM enrichment:TERM ingest:TERM redis:stop nats:stop"
	if got := strings.Join(readOrder(t, dir), " "); got != want {
		t.Errorf("order:\n%s\nwant:\n%s\noutput:\n%s", got, want, out.String())
	}
	for _, n := range serviceNames {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, "logs", n+".log"))
		if err != nil || !strings.Contains(string(b), "fake "+n+" listening") {
			t.Errorf("%s log: %v %q", n, err, b)
		}
	}
}

func TestRunQuietServicesAndGivenURLs(t *testing.T) {
	cfg, dir := devSetup(t)
	cfg.QuietServices = true
	cfg.Load = nil
	cfg.Getenv = func(k string) string {
		return map[string]string{EnvNATSURL: "nats://elsewhere:4222", EnvRedisURL: "redis://elsewhere:6379/0"}[k]
	}
	out := &syncBuffer{}
	cfg.Stdout = out
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()
	waitOutput(t, out, "Ctrl-C stops everything", errc)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), " | fake") {
		t.Errorf("--quiet-services still printed service output:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "nats://elsewhere:4222      (from BILAT_NATS_URL)") {
		t.Errorf("summary should show the given NATS URL:\n%s", out.String())
	}
	// Neither server was started (or stopped) by dev.
	if got := strings.Join(readOrder(t, dir), " "); got != "gateway:TERM statistics:TERM enrichment:TERM ingest:TERM" {
		t.Errorf("order %q", got)
	}
}

func TestRunServiceDies(t *testing.T) {
	cfg, dir := devSetup(t, envCrash+"=statistics")
	cfg.Load = nil
	out := &syncBuffer{}
	cfg.Stdout = out
	errc := make(chan error, 1)
	go func() { errc <- Run(context.Background(), cfg) }()
	waitOutput(t, out, "Ctrl-C stops everything", errc)
	if err := os.WriteFile(filepath.Join(dir, "crash-now"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-errc:
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not notice the crash")
	}
	if err == nil || !strings.Contains(err.Error(), "statistics exited unexpectedly (exit status 4)") ||
		!strings.Contains(err.Error(), filepath.Join("logs", "statistics.log")) {
		t.Fatalf("err = %v", err)
	}
	got := strings.Join(readOrder(t, dir), " ")
	want := "nats:start redis:start gateway:TERM enrichment:TERM ingest:TERM redis:stop nats:stop"
	if got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

func TestRunServiceNeverHealthy(t *testing.T) {
	cfg, dir := devSetup(t, envUnhealthy+"=enrichment")
	cfg.Services = cfg.Services[1:2] // enrichment alone keeps the test short
	cfg.StartTimeout = 5 * time.Second
	out := &syncBuffer{}
	cfg.Stdout = out
	err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "enrichment is not healthy on "+cfg.Services[0].GRPCAddr+" after 5s") ||
		!strings.Contains(err.Error(), "NOT_SERVING") || !strings.Contains(err.Error(), filepath.Join("logs", "enrichment.log")) {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(readOrder(t, dir), " "); got != "nats:start redis:start enrichment:TERM redis:stop nats:stop" {
		t.Errorf("order %q", got)
	}
}

func TestRunChecksBeforeStarting(t *testing.T) {
	cfg, dir := devSetup(t)
	cfg.BinDir = filepath.Join(dir, "nowhere")
	err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("missing binaries: %v", err)
	}
	cfg, dir = devSetup(t)
	cfg.Load = []string{filepath.Join(dir, "missing.ndjson")}
	err = Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "--no-load") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing data: %v", err)
	}
	if got := readOrder(t, dir); len(got) != 0 {
		t.Errorf("nothing should have started: %v", got)
	}
}
