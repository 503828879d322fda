// Command bench measures Bilat on this machine: pipeline throughput through
// both doors, freshness at half load, query speed on a large store, rebuild
// speed and memory, each beside a baseline measured in the same run (raw
// JetStream, raw Redis pipelines, a bare gRPC server). `make bench` runs the
// full mode, `make bench-quick` the quick one; see docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Config sizes a run.
type Config struct {
	Mode     string
	BinDir   string
	RepoRoot string
	OutDir   string // results (latest.json, profiles/); empty writes nothing
	// Events go through the pipeline, half through each door.
	Events   int
	Partners int
	// FreshFor is how long the half-load freshness phase publishes.
	FreshFor time.Duration
	// StoreAgreements is how many agreements the store holds for the query phase.
	StoreAgreements int
	QueryFor        time.Duration
	Clients         int
	// BaselineEvents sizes the JetStream and Redis baselines.
	BaselineEvents int
	// ProfileFor is the CPU profile length taken from the services; 0 takes none.
	ProfileFor time.Duration
	// HashListpackValue, when set, is applied as Redis hash-max-listpack-value
	// before any write: the memory experiment of docs/benchmarks.md.
	HashListpackValue int
	// NATSProcess runs the NATS server as its own process, as production
	// does, rather than inside the bench, as `make run` does: the
	// experiment of docs/benchmarks-history.md ("NATS in its own process").
	NATSProcess bool
	// ServiceEnv is added to the environment (KEY=VALUE) of every service
	// and of the NATS path's relays, which stand in for them: GOMAXPROCS=1
	// runs each as a Kubernetes CPU limit of 1 would (Go sizes GOMAXPROCS
	// from it).
	ServiceEnv []string

	workDir string
}

func presets(mode string) (Config, error) {
	switch mode {
	case "full":
		return Config{Mode: mode, Events: 200_000, Partners: 240, FreshFor: 30 * time.Second, StoreAgreements: 1_000_000,
			QueryFor: 10 * time.Second, Clients: 32, BaselineEvents: 200_000, ProfileFor: 20 * time.Second}, nil
	case "quick":
		return Config{Mode: mode, Events: 5_000, Partners: 240, FreshFor: 3 * time.Second, StoreAgreements: 20_000,
			QueryFor: 2 * time.Second, Clients: 32, BaselineEvents: 20_000, ProfileFor: 2 * time.Second}, nil
	}
	return Config{}, fmt.Errorf("unknown mode %q (full or quick)", mode)
}

func main() {
	if serveNATS() || serveConst() || serveRelay() {
		return
	}
	if err := cli(os.Args[1:], os.Stdout); err != nil {
		slog.Error("bench failed", "err", err)
		os.Exit(1)
	}
}

func cli(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	mode := fs.String("mode", "quick", "full (the issue's sizes) or quick (under a minute)")
	bin := fs.String("bin-dir", "bin", "directory with the built services (make build)")
	root := fs.String("repo", ".", "repository root (for data/gazetteer)")
	outDir := fs.String("out", "bench/results", "where latest.json and profiles/ go")
	events := fs.Int("events", 0, "override: pipeline events")
	store := fs.Int("store", 0, "override: agreements in the query store")
	queryFor := fs.Duration("query-for", 0, "override: how long each query is loaded (the gateway's and the bare server's turns alike)")
	freshFor := fs.Duration("fresh-for", 0, "override: how long the half-load freshness phase publishes")
	listpack := fs.Int("hash-max-listpack-value", 0, "experiment: set this Redis hash-max-listpack-value first (default 1024, as pkg/localstack starts Redis)")
	natsProcess := fs.Bool("nats-process", false, "experiment: run the NATS server as its own process (as in production), not inside the bench (as make run does)")
	var serviceEnv envList
	fs.Var(&serviceEnv, "service-env", "experiment: KEY=VALUE added to the environment of every service and of the NATS path's relays (repeatable), e.g. GOMAXPROCS=1 as a CPU limit of 1 gives each service in Kubernetes")
	reprint := fs.String("print", "", "print the table of a saved result (a latest.json) and run nothing")
	compare := fs.Bool("compare", false, "print saved results (the latest.json files given as arguments) side by side, figure by figure, and run nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *compare {
		return compareRuns(out, fs.Args())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (files are read only with -compare)", fs.Args())
	}
	if *reprint != "" {
		res, err := readResult(*reprint)
		if err != nil {
			return err
		}
		res.Summary(out)
		return nil
	}
	cfg, err := presets(*mode)
	if err != nil {
		return err
	}
	if *events > 0 {
		cfg.Events = *events
	}
	if *store > 0 {
		cfg.StoreAgreements = *store
	}
	if *queryFor > 0 {
		cfg.QueryFor = *queryFor
	}
	if *freshFor > 0 {
		cfg.FreshFor = *freshFor
	}
	cfg.HashListpackValue = *listpack
	cfg.NATSProcess = *natsProcess
	cfg.ServiceEnv = serviceEnv
	if cfg.BinDir, err = filepath.Abs(*bin); err != nil {
		return fmt.Errorf("bin dir: %w", err)
	}
	if cfg.RepoRoot, err = filepath.Abs(*root); err != nil {
		return fmt.Errorf("repo: %w", err)
	}
	if cfg.OutDir, err = filepath.Abs(*outDir); err != nil {
		return fmt.Errorf("out dir: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	res, err := Run(ctx, cfg, log)
	if err != nil {
		return err
	}
	res.Summary(out)
	if cfg.OutDir != "" {
		fmt.Fprintf(out, "\nresults: %s\n", filepath.Join(cfg.OutDir, "latest.json"))
	}
	return nil
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*l = append(*l, v)
	return nil
}

func hostInfo() map[string]string {
	h := map[string]string{
		"cpus":       strconv.Itoa(runtime.NumCPU()),
		"go":         runtime.Version(),
		"os":         runtime.GOOS + "/" + runtime.GOARCH,
		"gomaxprocs": strconv.Itoa(runtime.GOMAXPROCS(0)),
		"cpu":        strconv.Itoa(runtime.NumCPU()) + " CPUs",
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h["cpu"] = strings.TrimSpace(v) + ", " + h["cpu"]
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		h["loadavg_at_start"] = strings.TrimSpace(string(b))
	}
	return h
}
