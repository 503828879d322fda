// Command enrichment resolves the entities of recorded events (BILAT_EVENTS)
// against the gazetteer and publishes them to BILAT_ENRICHED; it also serves
// bilat.v1.GazetteerService.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"bilat.dev/pkg/auth"
	"bilat.dev/pkg/config"
	"bilat.dev/pkg/grpcx"
	"bilat.dev/pkg/lifecycle"
	"bilat.dev/pkg/logx"
	"bilat.dev/pkg/natsx"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/enrichment/internal/adapters"
	"bilat.dev/services/enrichment/internal/app"
	"bilat.dev/services/enrichment/internal/ports"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		slog.Error("enrichment failed", "err", err)
		stop()
		os.Exit(1)
	}
}

// scopes: adding an alias re-enriches events, so it is an operator's call;
// every other GazetteerService method only reads.
var scopes = auth.Policy{
	"/bilat.v1.GazetteerService/":         auth.Read,
	"/bilat.v1.GazetteerService/AddAlias": auth.Admin,
}

var reCountry = regexp.MustCompile(`^[A-Z]{2}$`)

// settings are the flags of the service (defaults from BILAT_* variables).
type settings struct {
	config.Common
	Gazetteer   string
	FX          string
	HomeCountry string
	Streams     natsx.StreamsConfig
}

func parse(args []string, stderr io.Writer) (*settings, error) {
	var s settings
	fs := config.NewFlagSet("enrichment")
	fs.SetOutput(stderr)
	s.Register(fs, "127.0.0.1:7102", "127.0.0.1:7112")
	gaz := config.String(fs, "gazetteer", "BILAT_GAZETTEER", adapters.DefaultGazetteerPath,
		"gazetteer NDJSON file; a relative path is also looked up from the executable's directory and its parents")
	fx := config.String(fs, "fx", "BILAT_FX", adapters.DefaultFXPath,
		"directory of annual average exchange rates (*.csv: currency,year,units_per_usd,source); missing means every conversion is a flagged gap")
	home := config.String(fs, "home-country", "BILAT_HOME_COUNTRY", "BY", "ISO 3166-1 alpha-2 code of the home country")
	s.Streams.RegisterFlags(fs)
	if err := config.Parse(fs, args); err != nil {
		return nil, err
	}
	s.Gazetteer, s.HomeCountry, s.FX = *gaz, *home, *fx
	if !reCountry.MatchString(s.HomeCountry) {
		return nil, fmt.Errorf("home country %q: want an ISO 3166-1 alpha-2 code such as BY", s.HomeCountry)
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
	log = log.With("service", "enrichment")

	g, path, err := adapters.LoadGazetteer(s.Gazetteer)
	if err != nil {
		return err
	}
	if _, ok := g.Entity(s.HomeCountry); !ok {
		return fmt.Errorf("home country %s is not in the gazetteer %s", s.HomeCountry, path)
	}
	log.Info("gazetteer loaded", "path", path, "entities", g.Len(), "home", s.HomeCountry)

	nc, js, err := natsx.Connect(ctx, s.NATSURL, "enrichment", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := natsx.EnsureStreams(ctx, js, s.Streams); err != nil {
		return err
	}

	rates, fxPath, err := adapters.LoadRates(s.FX)
	if err != nil {
		return err
	}
	if fxPath == "" {
		log.Warn("no exchange rates found; every USD conversion is a flagged gap", "fx", s.FX)
	} else {
		log.Info("exchange rates loaded", "path", fxPath, "rates", rates.Len())
	}

	buckets, err := adapters.EnsureBuckets(ctx, js, s.Streams)
	if err != nil {
		return err
	}
	events, err := js.Stream(ctx, natsx.StreamEvents)
	if err != nil {
		return fmt.Errorf("open stream %s: %w", natsx.StreamEvents, err)
	}
	tracker := &adapters.UnresolvedKV{KV: buckets.Unresolved}
	svc := app.New(g, s.HomeCountry, adapters.NewEnrichedPublisher(js), log, app.WithRates(rates), app.WithTracker(tracker))
	cur := app.NewCurator(g, svc, adapters.AliasKV{KV: buckets.Aliases}, tracker,
		adapters.StreamEvents{Stream: events}, adapters.VersionsKV{KV: buckets.Versions}, log)
	// Operator aliases are in place before the first event is enriched.
	watcher, err := adapters.WatchAliases(ctx, buckets.Aliases, cur.SetAliases, log)
	if err != nil {
		return err
	}
	lis, err := lifecycle.Listen(s.GRPCAddr)
	if err != nil {
		watcher.Stop(ctx)
		return err
	}
	edge, err := grpcx.EdgeFrom(s.Common, scopes, log)
	if err != nil {
		_ = lis.Close()
		watcher.Stop(ctx)
		return err
	}
	srv := grpcx.New(log, edge, grpcx.NATSCheck(nc))
	srv.ShutdownTimeout = s.ShutdownTimeout
	bilatv1.RegisterGazetteerServiceServer(srv.GRPC(), ports.NewGazetteerServer(app.NewGazetteer(g)).Curation(cur, svc))

	consCfg := ports.ConsumerConfig()
	consCfg.HandleBatch = ports.BatchHandler(svc)
	cons, err := natsx.Consume(ctx, js, consCfg, ports.EventHandler(svc), log)
	if err != nil {
		_ = lis.Close()
		watcher.Stop(ctx)
		return err
	}

	// Finish any re-enrichment an earlier AddAlias could not complete (a
	// crash, NATS away) and catch names tracked while an alias was added.
	reconciled := make(chan struct{})
	go func() {
		defer close(reconciled)
		res, err := cur.Reconcile(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("re-enrichment at start failed; the next alias retries it", "err", err)
		case res.Reenriched > 0:
			log.Info("re-enriched at start", "events", res.Reenriched, "names", res.ResolvedNames)
		}
	}()
	err = lifecycle.Run(ctx, lifecycle.Service{
		Log: log, GRPC: srv, Listener: lis, HTTPAddr: s.HTTPAddr, HTTPTLS: edge.TLS,
		Drain: []lifecycle.Drainer{cons, watcher}, ShutdownTimeout: s.ShutdownTimeout,
	})
	<-reconciled
	return err
}
