// Command ingest is Bilat's door for publishers: the gRPC IngestService and
// the JetStream consumer of bilat.ingest.>, both recording validated events
// exactly once in BILAT_EVENTS.
package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"

	"bilat.dev/pkg/auth"
	"bilat.dev/pkg/config"
	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/lifecycle"
	"bilat.dev/pkg/logx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/services/ingest/internal/adapters"
	"bilat.dev/services/ingest/internal/app"
	"bilat.dev/services/ingest/internal/ports"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		slog.New(slog.NewTextHandler(os.Stderr, nil)).Error("ingest failed", "err", err)
		os.Exit(1)
	}
}

// scopes: publishing is all IngestService does.
var scopes = auth.Policy{"/bilat.v1.IngestService/": auth.Publish}

// run starts ingest and blocks until ctx ends or a server fails. Settings
// come from flags, whose defaults come from BILAT_* environment variables.
func run(ctx context.Context, args []string, logOut io.Writer) error {
	fs := config.NewFlagSet("ingest")
	var common config.Common
	common.Register(fs, "127.0.0.1:7101", "127.0.0.1:7111")
	var streams natsx.StreamsConfig
	streams.RegisterFlags(fs)
	submitTimeout := config.Duration(fs, "submit-timeout", "BILAT_INGEST_SUBMIT_TIMEOUT", 10*time.Second, "bound on recording one submission before answering Unavailable")
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	log, err := logx.New(logOut, common.LogLevel, common.LogFormat)
	if err != nil {
		return err
	}
	log = log.With("service", "ingest")

	nc, js, err := natsx.Connect(ctx, common.NATSURL, "bilat-ingest", log)
	if err != nil {
		return err
	}
	// Closed last: the consumer drain and in-flight gRPC calls still publish.
	defer nc.Close()
	if err := natsx.EnsureStreams(ctx, js, streams); err != nil {
		return err
	}
	kv, err := adapters.OpenIdempotencyKV(ctx, js, log)
	if err != nil {
		return err
	}
	svc := app.New(adapters.NewEventPublisher(js), kv, log, app.Options{Timeout: *submitTimeout})

	lis, err := lifecycle.Listen(common.GRPCAddr)
	if err != nil {
		return err
	}
	edge, err := grpcx.EdgeFrom(common, scopes, log)
	if err != nil {
		_ = lis.Close()
		return err
	}
	srv := grpcx.New(log, edge, grpcx.NATSCheck(nc))
	srv.ShutdownTimeout = common.ShutdownTimeout
	bilatv1.RegisterIngestServiceServer(srv.GRPC(), ports.NewIngestServer(svc, log))

	door := ports.NewDoor(svc, log)
	doorCfg := ports.DoorConsumerConfig()
	doorCfg.HandleBatch = door.HandleBatch
	cons, err := natsx.Consume(ctx, js, doorCfg, door.Handle, log)
	if err != nil {
		_ = lis.Close()
		return err
	}

	return lifecycle.Run(ctx, lifecycle.Service{
		Log: log, GRPC: srv, Listener: lis, HTTPAddr: common.HTTPAddr, HTTPTLS: edge.TLS,
		Drain: []lifecycle.Drainer{cons}, ShutdownTimeout: common.ShutdownTimeout,
	})
}
