// Command statistics projects the enriched events (BILAT_ENRICHED) into
// Redis, idempotently, and serves bilat.v1.StatisticsService over them.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"bilat.dev/pkg/auth"
	"bilat.dev/pkg/config"
	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/lifecycle"
	"bilat.dev/pkg/logx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/redisx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/statistics/internal/adapters"
	"bilat.dev/services/statistics/internal/app"
	"bilat.dev/services/statistics/internal/ports"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		slog.Error("statistics failed", "err", err)
		stop()
		os.Exit(1)
	}
}

// scopes: rebuilding the projections is an operator's call; every other
// StatisticsService method only reads.
var scopes = auth.Policy{
	"/bilat.v1.StatisticsService/":                   auth.Read,
	"/bilat.v1.StatisticsService/RebuildProjections": auth.Admin,
}

// settings are the flags of the service (defaults from BILAT_* variables).
type settings struct {
	config.Common
	Streams   natsx.StreamsConfig
	KeyPrefix string
	Gazetteer string
}

func parse(args []string, stderr io.Writer) (*settings, error) {
	var s settings
	fs := config.NewFlagSet("statistics")
	fs.SetOutput(stderr)
	s.Register(fs, "127.0.0.1:7103", "127.0.0.1:7113")
	s.Streams.RegisterFlags(fs)
	prefix := projection.RegisterPrefixFlag(fs)
	gaz := config.String(fs, "gazetteer", "BILAT_GAZETTEER", "data/gazetteer/entities.ndjson",
		"gazetteer file (protojson bilat.v1.Entity per line) for bloc memberships and regions")
	if err := config.Parse(fs, args); err != nil {
		return nil, err
	}
	s.KeyPrefix, s.Gazetteer = *prefix, *gaz
	return &s, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	s, err := parse(args, stderr)
	if err != nil {
		return err
	}
	log, err := logx.New(stderr, s.LogLevel, s.LogFormat)
	if err != nil {
		return err
	}
	log = log.With("service", "statistics")

	nc, js, err := natsx.Connect(ctx, s.NATSURL, "statistics", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := natsx.EnsureStreams(ctx, js, s.Streams); err != nil {
		return err
	}
	rdb, err := redisx.Connect(ctx, s.RedisURL)
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()

	gaz, err := adapters.LoadGazetteer(s.Gazetteer)
	if err != nil {
		return err
	}
	store := projection.New(rdb, projection.WithPrefix(s.KeyPrefix))
	svc := app.New(store, store)
	svc.SetGazetteer(gaz)
	cfg := ports.ConsumerConfig()
	// Agreements and trade figures are applied in batches of the events
	// waiting for a worker; the per-event handler is the fallback API.
	cfg.HandleBatch = ports.BatchHandler(svc, log)
	runner := adapters.NewRunner(js, store, cfg, ports.EventHandler(svc, log), log)
	svc.SetAdmin(runner)
	lis, err := lifecycle.Listen(s.GRPCAddr)
	if err != nil {
		return err
	}
	edge, err := grpcx.EdgeFrom(s.Common, scopes, log)
	if err != nil {
		_ = lis.Close()
		return err
	}
	srv := grpcx.New(log, edge, grpcx.NATSCheck(nc), grpcx.RedisCheck(rdb))
	srv.ShutdownTimeout = s.ShutdownTimeout
	bilatv1.RegisterStatisticsServiceServer(srv.GRPC(), ports.NewStatisticsServer(svc, log))

	// Checked before the consumer starts, which could otherwise make an
	// empty store look like one of an older layout.
	rebuild, why, err := store.NeedsRebuild(ctx)
	if err != nil {
		_ = lis.Close()
		return err
	}
	if err := runner.Start(ctx); err != nil {
		_ = lis.Close()
		return err
	}
	if rebuild {
		// In the background: the service answers (from partial
		// projections) and stays ready while the replay runs.
		log.Warn("rebuilding the projections from the streams", "reason", why)
		go func() {
			if _, err := runner.Rebuild(ctx); err != nil && ctx.Err() == nil {
				log.Error("rebuild at start failed; run 'bilat projections rebuild'", "err", err)
			}
		}()
	}

	return lifecycle.Run(ctx, lifecycle.Service{
		Log: log, GRPC: srv, Listener: lis, HTTPAddr: s.HTTPAddr, HTTPTLS: edge.TLS,
		Drain: []lifecycle.Drainer{runner}, ShutdownTimeout: s.ShutdownTimeout,
	})
}
