// Command gateway serves Bilat's public read API (bilat.v1.AgreementService,
// bilat.v1.TradeService) from the Redis projections.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
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
	"bilat.dev/services/gateway/internal/adapters"
	"bilat.dev/services/gateway/internal/app"
	"bilat.dev/services/gateway/internal/ports"
)

func main() {
	// Every read allocates the records it forwards and drops them as soon
	// as they are sent, while the live heap stays a few MiB: collecting at
	// 5x the live heap instead of 2x took the gateway's CPU per list page
	// down 8 % in the bench, for about 35 MiB more RSS. GOGC (and
	// GOMEMLIMIT, which the runtime reads itself) still override it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		slog.Error("gateway failed", "err", err)
		stop()
		os.Exit(1)
	}
}

// gcPercent is the gateway's GOGC unless the environment sets one.
const gcPercent = 400

// coalescedConns is how many coalesced read round trips are in flight at
// once, each on its own connection of the client's pool. Fewer round trips
// in flight make each carry more readers, so the gateway and Redis pay
// fewer system calls per request: in A/B runs of the query phase
// (docs/benchmarks.md) GetAgreement used 73-75 µs of server CPU per request
// with 2 against 95-97 with 4, with a lower p99; 1 was between the two.
const coalescedConns = 2

// scopes: the gateway only reads. Whole services are listed so methods
// added later are covered; a service missing here is denied when auth is on.
var scopes = auth.Policy{
	"/bilat.v1.AgreementService/": auth.Read,
	"/bilat.v1.TradeService/":     auth.Read,
	"/bilat.v1.PartnerService/":   auth.Read,
}

// settings are the flags of the service (defaults from BILAT_* variables).
type settings struct {
	config.Common
	KeyPrefix      string
	StatisticsAddr string
	EnrichmentAddr string
	HTTPAPIAddr    string
	CORSOrigins    []string
}

func parse(args []string, stderr io.Writer) (*settings, error) {
	var s settings
	fs := config.NewFlagSet("gateway")
	fs.SetOutput(stderr)
	s.Register(fs, "127.0.0.1:7100", "127.0.0.1:7110")
	prefix := projection.RegisterPrefixFlag(fs)
	stats := config.String(fs, "statistics-addr", "BILAT_STATISTICS_ADDR", "127.0.0.1:7103",
		"StatisticsService gRPC address (trade balance, growth, targets, rankings, conflicts)")
	gaz := config.String(fs, "enrichment-addr", "BILAT_ENRICHMENT_ADDR", "127.0.0.1:7102",
		"GazetteerService gRPC address (partner profiles and search, bloc filters)")
	api := config.String(fs, "http-api-addr", "BILAT_HTTP_API_ADDR", "127.0.0.1:7080",
		"HTTP/JSON API address (grpc-gateway routes and /openapi.json); empty disables it")
	cors := config.String(fs, "cors-origins", "BILAT_CORS_ORIGINS", "",
		"comma-separated origins browsers may call the HTTP/JSON API from (\"*\" for any); empty: same origin only")
	if err := config.Parse(fs, args); err != nil {
		return nil, err
	}
	s.KeyPrefix, s.StatisticsAddr, s.EnrichmentAddr, s.HTTPAPIAddr = *prefix, *stats, *gaz, *api
	for _, o := range strings.Split(*cors, ",") {
		if o = strings.TrimSpace(o); o != "" {
			s.CORSOrigins = append(s.CORSOrigins, o)
		}
	}
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
	// Concurrent requests share Redis round trips (redisx.Coalescer): a
	// few in flight at once keep Redis busy without a round trip per request.
	reads := redisx.NewCoalescer(rdb, coalescedConns)
	defer reads.Close()

	clientOpts, err := grpcx.ClientOptionsFrom(s.Common)
	if err != nil {
		return err
	}
	stats, err := adapters.DialStatistics(s.StatisticsAddr, clientOpts)
	if err != nil {
		return err
	}
	defer func() { _ = stats.Close() }()

	gazConn, err := grpcx.Dial(s.EnrichmentAddr, clientOpts)
	if err != nil {
		return fmt.Errorf("dial enrichment %s: %w", s.EnrichmentAddr, err)
	}
	defer func() { _ = gazConn.Close() }()
	gazClient := bilatv1.NewGazetteerServiceClient(gazConn)
	gaz := adapters.NewGazetteer(gazClient)

	// Watches and trade alerts tail BILAT_ENRICHED.
	nc, js, err := natsx.Connect(ctx, s.NATSURL, "gateway", log)
	if err != nil {
		return err
	}
	defer nc.Close()

	store := projection.New(rdb, projection.WithPrefix(s.KeyPrefix), projection.WithCoalescedReads(reads))
	svc := app.New(store).WithGazetteer(gazClient)
	edge, err := grpcx.EdgeFrom(s.Common, scopes, log)
	if err != nil {
		return err
	}
	srv := grpcx.New(log, edge, grpcx.RedisCheck(rdb), grpcx.NATSCheck(nc))
	srv.ShutdownTimeout = s.ShutdownTimeout
	bilatv1.RegisterAgreementServiceServer(srv.GRPC(), ports.NewAgreementServer(svc, log).
		WithWatch(ctx, app.NewAgreementWatch(js, svc.Agreements(), log)))
	bilatv1.RegisterTradeServiceServer(srv.GRPC(), ports.NewTradeServer(svc, log).
		WithStatistics(stats).
		WithCompare(app.NewCompare(gaz, stats)).
		WithAlerts(ctx, app.NewAlerts(js, stats, log)))
	bilatv1.RegisterPartnerServiceServer(srv.GRPC(), ports.NewPartnerServer(app.NewPartners(gaz, stats, store), log))

	lis, err := lifecycle.Listen(s.GRPCAddr)
	if err != nil {
		return err
	}
	var drain []lifecycle.Drainer
	if s.HTTPAPIAddr != "" {
		api, err := startHTTPAPI(s, lis.Addr(), edge, log)
		if err != nil {
			return err
		}
		drain = append(drain, api) // stops before gRPC: every HTTP call goes through it
	}
	return lifecycle.Run(ctx, lifecycle.Service{
		Log: log, GRPC: srv, Listener: lis, HTTPAddr: s.HTTPAddr, HTTPTLS: edge.TLS, Drain: drain, ShutdownTimeout: s.ShutdownTimeout,
	})
}

// startHTTPAPI serves the HTTP/JSON API on its own listener. It calls the
// gateway's gRPC listener over loopback, so HTTP requests pass the same
// interceptors (auth, rate limit, logging) as gRPC calls.
func startHTTPAPI(s *settings, grpcAddr net.Addr, edge grpcx.Edge, log *slog.Logger) (*ports.HTTPAPI, error) {
	_, port, err := net.SplitHostPort(grpcAddr.String())
	if err != nil {
		return nil, fmt.Errorf("gateway grpc address %s: %w", grpcAddr, err)
	}
	conn, err := grpcx.Dial(net.JoinHostPort("127.0.0.1", port), grpcx.SelfClientOptions(edge))
	if err != nil {
		return nil, fmt.Errorf("dial own grpc port: %w", err)
	}
	api, err := ports.NewHTTPAPI(log, ports.HTTPAPIOptions{Conn: conn, TLS: edge.TLS, CORSOrigins: s.CORSOrigins})
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", s.HTTPAPIAddr)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("http api listen %s: %w", s.HTTPAPIAddr, err)
	}
	go func() {
		defer func() { _ = conn.Close() }()
		if err := api.Serve(lis); err != nil {
			log.Error("http/json api stopped", "err", err)
		}
	}()
	return api, nil
}
