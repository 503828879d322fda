// Command gateway serves Bilat's public read API (bilat.v1.AgreementService,
// bilat.v1.TradeService) from the Redis projections.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"bilat.dev/pkg/config"
	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/lifecycle"
	"bilat.dev/pkg/logx"
	"bilat.dev/pkg/projection"
	"bilat.dev/pkg/redisx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/adapters"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		slog.Error("gateway failed", "err", err)
		stop()
		os.Exit(1)
	}
}

// settings are the flags of the service (defaults from BILAT_* variables).
type settings struct {
	config.Common
	KeyPrefix      string
	StatisticsAddr string
}

func parse(args []string, stderr io.Writer) (*settings, error) {
	var s settings
	fs := config.NewFlagSet("gateway")
	fs.SetOutput(stderr)
	s.Register(fs, "127.0.0.1:7100", "127.0.0.1:7110")
	prefix := projection.RegisterPrefixFlag(fs)
	stats := config.String(fs, "statistics-addr", "BILAT_STATISTICS_ADDR", "127.0.0.1:7103",
		"StatisticsService gRPC address (trade balance, growth, targets, rankings, conflicts)")
	if err := config.Parse(fs, args); err != nil {
		return nil, err
	}
	s.KeyPrefix, s.StatisticsAddr = *prefix, *stats
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
	log = log.With("service", "gateway")

	rdb, err := redisx.Connect(ctx, s.RedisURL)
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()

	stats, err := adapters.DialStatistics(s.StatisticsAddr)
	if err != nil {
		return err
	}
	defer func() { _ = stats.Close() }()

	svc := app.New(projection.New(rdb, projection.WithPrefix(s.KeyPrefix)))
	srv := grpcx.NewServer(log, grpcx.RedisCheck(rdb))
	srv.ShutdownTimeout = s.ShutdownTimeout
	bilatv1.RegisterAgreementServiceServer(srv.GRPC(), ports.NewAgreementServer(svc, log))
	bilatv1.RegisterTradeServiceServer(srv.GRPC(), ports.NewTradeServer(svc, log).WithStatistics(stats))

	lis, err := lifecycle.Listen(s.GRPCAddr)
	if err != nil {
		return err
	}
	return lifecycle.Run(ctx, lifecycle.Service{
		Log: log, GRPC: srv, Listener: lis, HTTPAddr: s.HTTPAddr, ShutdownTimeout: s.ShutdownTimeout,
	})
}
