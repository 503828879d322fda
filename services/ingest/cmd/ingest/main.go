// Command ingest is Bilat's door for publishers: the gRPC IngestService and
// the JetStream consumer of bilat.ingest.>, both recording validated events
// exactly once in BILAT_EVENTS.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"

	"bilat.dev/pkg/config"
	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/logx"
	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/ops"
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
	kv, err := adapters.OpenIdempotencyKV(ctx, js)
	if err != nil {
		return err
	}
	svc := app.New(adapters.NewEventPublisher(js), kv, log, app.Options{Timeout: *submitTimeout})

	lis, err := net.Listen("tcp", common.GRPCAddr)
	if err != nil {
		return fmt.Errorf("grpc listen %s: %w", common.GRPCAddr, err)
	}
	srv := grpcx.NewServer(log, grpcx.NATSCheck(nc))
	srv.ShutdownTimeout = common.ShutdownTimeout
	bilatv1.RegisterIngestServiceServer(srv.GRPC(), ports.NewIngestServer(svc, log))

	cons, err := natsx.Consume(ctx, js, ports.DoorConsumerConfig(), ports.NewDoor(svc, log).Handle, log)
	if err != nil {
		_ = lis.Close()
		return err
	}

	// The servers get their own contexts so that shutdown can stop them in
	// order: first the consumer, then gRPC, then the ops endpoint.
	grpcCtx, stopGRPC := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGRPC()
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	defer stopOps()
	grpcDone := make(chan error, 1)
	go func() { grpcDone <- srv.ServeListener(grpcCtx, lis) }()
	opsDone := make(chan error, 1)
	go func() { opsDone <- ops.Serve(opsCtx, common.HTTPAddr, log) }()
	log.Info("ingest started", "grpc", lis.Addr().String(), "http", common.HTTPAddr, "nats", common.NATSURL)

	var errs []error
	select {
	case <-ctx.Done():
	case err := <-grpcDone:
		errs = append(errs, fmt.Errorf("grpc server stopped: %w", err))
		grpcDone = nil
	case err := <-opsDone:
		errs = append(errs, fmt.Errorf("ops server stopped: %w", err))
		opsDone = nil
	}
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), common.ShutdownTimeout)
	defer cancel()
	cons.Stop(stopCtx)
	stopGRPC()
	if grpcDone != nil {
		if err := <-grpcDone; err != nil {
			errs = append(errs, err)
		}
	}
	stopOps()
	if opsDone != nil {
		if err := <-opsDone; err != nil {
			errs = append(errs, err)
		}
	}
	log.Info("stopped")
	return errors.Join(errs...)
}
