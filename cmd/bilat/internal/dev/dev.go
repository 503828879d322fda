// Package dev runs the whole Bilat stack on one machine for `bilat dev`:
// NATS (in-process) and redis-server unless given, the four services as
// child processes, a data load, and an orderly shutdown.
package dev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bilat.dev/cmd/bilat/internal/client"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Service is one service binary and where it listens.
type Service struct {
	Name     string // binary name in the bin dir: ingest, enrichment, statistics, gateway
	GRPCAddr string
	HTTPAddr string
}

// DefaultServices lists the services in start order (stop order is the
// reverse: gateway, statistics, enrichment, ingest).
func DefaultServices(ingestAddr, gatewayAddr string) []Service {
	return []Service{
		{Name: "ingest", GRPCAddr: ingestAddr, HTTPAddr: "127.0.0.1:7111"},
		{Name: "enrichment", GRPCAddr: "127.0.0.1:7102", HTTPAddr: "127.0.0.1:7112"},
		{Name: "statistics", GRPCAddr: "127.0.0.1:7103", HTTPAddr: "127.0.0.1:7113"},
		{Name: "gateway", GRPCAddr: gatewayAddr, HTTPAddr: "127.0.0.1:7110"},
	}
}

// LoadFunc imports one ndjson file through IngestService.Import.
type LoadFunc func(ctx context.Context, ingest bilatv1.IngestServiceClient, file string) (*client.ImportResult, error)

// Config is what `bilat dev` was asked to do.
type Config struct {
	DataDir       string
	BinDir        string
	NATSPort      int
	RedisPort     int
	Load          []string // files to import once the services are up
	QuietServices bool     // service output only into <data-dir>/logs/<svc>.log
	Services      []Service

	StartTimeout time.Duration // per service, until gRPC health is SERVING
	StopTimeout  time.Duration // per service, from SIGTERM to SIGKILL
	LoadWait     time.Duration // bound on waiting for the gateway to show the load

	// Self is how to invoke this tool in the printed hints ("bin/bilat").
	Self string

	Stdout io.Writer
	Getenv func(string) string
	// Environ is the base environment of the children.
	Environ []string
	// LoadFile imports one file; `bilat import` uses the same function.
	LoadFile LoadFunc
	// Infra starts NATS and Redis when their URLs are not given; nil uses
	// the real servers from pkg/localstack.
	Infra Infra
	// NATSSync is how often the local JetStream fsyncs: negative means
	// every write (the safe default for one node), 0 the server default.
	NATSSync time.Duration
}

// Infra starts the backing servers.
type Infra interface {
	StartNATS(port int, storeDir string) (url string, stop func() error, err error)
	StartRedis(ctx context.Context, port int, dir, logFile string) (url string, stop func() error, err error)
}

// Environment variables that point `bilat dev` at existing servers.
const (
	EnvNATSURL  = "BILAT_NATS_URL"
	EnvRedisURL = "BILAT_REDIS_URL"
)

// poll is how often health and counts are checked.
const poll = 200 * time.Millisecond

type runner struct {
	cfg   Config
	out   *SyncWriter
	group *Group
	procs map[string]*Proc
	logs  map[string]string
}

// Run brings the stack up, loads the data, and blocks until ctx is done
// (Ctrl-C: orderly shutdown, nil) or a service dies (shutdown, error).
func Run(ctx context.Context, cfg Config) (err error) {
	if err := cfg.check(); err != nil {
		return err
	}
	r := &runner{cfg: cfg, out: NewSyncWriter(cfg.Stdout), group: NewGroup(), procs: map[string]*Proc{}, logs: map[string]string{}}
	logDir, err := filepath.Abs(filepath.Join(cfg.DataDir, "logs"))
	if err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("create log dir: %w", err)
	}
	// Filled before any goroutine reads it.
	for _, s := range cfg.Services {
		r.logs[s.Name] = filepath.Join(logDir, s.Name+".log")
	}

	// Teardown runs in reverse: services, then Redis, then NATS.
	var teardown []func()
	defer func() {
		for i := len(teardown) - 1; i >= 0; i-- {
			teardown[i]()
		}
		if len(teardown) > 0 {
			r.say("stopped")
		}
	}()

	natsURL := cfg.Getenv(EnvNATSURL)
	natsNote := "(from " + EnvNATSURL + ")"
	if natsURL == "" {
		store := filepath.Join(cfg.DataDir, "nats")
		url, stop, err := cfg.Infra.StartNATS(cfg.NATSPort, store)
		if err != nil {
			return fmt.Errorf("start NATS on port %d: %w", cfg.NATSPort, err)
		}
		natsURL, natsNote = url, "store "+store
		teardown = append(teardown, func() {
			r.say("stopping NATS")
			if err := stop(); err != nil {
				r.say("NATS shutdown: %v", err)
			}
		})
	}
	redisURL := cfg.Getenv(EnvRedisURL)
	redisNote := "(from " + EnvRedisURL + ")"
	if redisURL == "" {
		dir := filepath.Join(cfg.DataDir, "redis")
		url, stop, err := cfg.Infra.StartRedis(ctx, cfg.RedisPort, dir, filepath.Join(logDir, "redis.log"))
		if err != nil {
			return fmt.Errorf("start redis-server on port %d: %w", cfg.RedisPort, err)
		}
		redisURL, redisNote = url, "dir "+dir
		teardown = append(teardown, func() {
			r.say("stopping Redis")
			if err := stop(); err != nil {
				r.say("Redis shutdown: %v", err)
			}
		})
	}

	// A service dying at any point cancels the run with the reason.
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case p := <-r.group.Exited():
			cancel(fmt.Errorf("%s exited unexpectedly (%s); see %s", p.Name, exitText(p.Err()), r.logs[p.Name]))
		case <-runCtx.Done():
		}
	}()
	teardown = append(teardown, r.stopServices)

	env := append(append([]string(nil), cfg.Environ...), EnvNATSURL+"="+natsURL, EnvRedisURL+"="+redisURL)
	width := 0
	for _, s := range cfg.Services {
		width = max(width, len(s.Name))
	}
	for _, s := range cfg.Services {
		if err := r.startService(runCtx, s, env, width); err != nil {
			return r.outcome(ctx, runCtx, err)
		}
	}

	var loaded []loadSummary
	ingest, gateway, closeConns, err := r.clients()
	if err != nil {
		return err
	}
	defer closeConns()
	for _, f := range cfg.Load {
		r.say("loading %s", f)
		res, err := cfg.LoadFile(runCtx, ingest, f)
		if err != nil {
			return r.outcome(ctx, runCtx, fmt.Errorf("load %s: %w", f, err))
		}
		loaded = append(loaded, loadSummary{file: f, res: res})
	}
	var expected int64
	for _, l := range loaded {
		expected += l.res.Agreements
	}
	total, sampleID, err := r.waitForGateway(runCtx, gateway, expected, len(loaded) > 0)
	if err != nil {
		return r.outcome(ctx, runCtx, err)
	}
	r.summary(natsURL, natsNote, redisURL, redisNote, loaded, total, expected, sampleID)

	<-runCtx.Done()
	return r.outcome(ctx, runCtx, nil)
}

// outcome decides what Run returns: nil when the user interrupted, the
// reason a service died, or err.
func (r *runner) outcome(parent, runCtx context.Context, err error) error {
	if parent.Err() != nil {
		r.say("interrupted; shutting down")
		return nil
	}
	if cause := context.Cause(runCtx); cause != nil {
		r.say("%v; shutting down", cause)
		return cause
	}
	return err
}

func (r *runner) stopServices() {
	r.group.StopAll(r.cfg.StopTimeout, func(name string, res *StopResult) {
		switch {
		case res == nil:
			r.say("stopping %s", name)
		case res.Killed:
			r.say("%s did not stop within %s; killed", name, r.cfg.StopTimeout)
		case res.Err != nil:
			r.say("%s exited with %s", name, exitText(res.Err))
		}
	})
}

func (r *runner) startService(ctx context.Context, s Service, env []string, width int) error {
	logPath := r.logs[s.Name]
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s log: %w", s.Name, err)
	}
	fmt.Fprintf(logFile, "=== bilat dev: starting %s at %s ===\n", s.Name, time.Now().Format(time.RFC3339))
	var output io.Writer = logFile
	var pw *PrefixWriter
	if !r.cfg.QuietServices {
		pw = NewPrefixWriter(r.out, s.Name, width)
		output = io.MultiWriter(logFile, pw)
	}
	p, err := r.group.Start(Spec{
		Name:   s.Name,
		Path:   filepath.Join(r.cfg.BinDir, s.Name),
		Args:   []string{"--grpc-addr", s.GRPCAddr, "--http-addr", s.HTTPAddr},
		Env:    env,
		Output: output,
	})
	if err != nil {
		logFile.Close()
		return err
	}
	go func() {
		<-p.Done()
		if pw != nil {
			_ = pw.Flush()
		}
		logFile.Close()
	}()
	r.procs[s.Name] = p
	r.say("started %s (pid %d) on %s; waiting for it to be healthy", s.Name, p.PID(), s.GRPCAddr)
	return r.waitHealthy(ctx, s, p)
}

// waitHealthy polls grpc.health.v1 until SERVING, the child exits, or the
// start timeout passes.
func (r *runner) waitHealthy(ctx context.Context, s Service, p *Proc) error {
	conn, err := client.Dial(s.GRPCAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline := time.Now().Add(r.cfg.StartTimeout)
	last := errors.New("no answer yet")
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		err := client.Health(cctx, conn)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not healthy on %s after %s (last: %v); see its log %s",
				s.Name, s.GRPCAddr, r.cfg.StartTimeout, last, r.logs[s.Name])
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited while starting (%s); see its log %s", s.Name, exitText(p.Err()), r.logs[s.Name])
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(poll):
		}
	}
}

// clients dials ingest and the gateway.
func (r *runner) clients() (bilatv1.IngestServiceClient, bilatv1.AgreementServiceClient, func(), error) {
	var ingestAddr, gatewayAddr string
	for _, s := range r.cfg.Services {
		switch s.Name {
		case "ingest":
			ingestAddr = s.GRPCAddr
		case "gateway":
			gatewayAddr = s.GRPCAddr
		}
	}
	ic, err := client.Dial(ingestAddr)
	if err != nil {
		return nil, nil, nil, err
	}
	gc, err := client.Dial(gatewayAddr)
	if err != nil {
		ic.Close()
		return nil, nil, nil, err
	}
	return bilatv1.NewIngestServiceClient(ic), bilatv1.NewAgreementServiceClient(gc), func() { ic.Close(); gc.Close() }, nil
}

// waitForGateway polls the gateway's agreement count until it reaches the
// expected number, or (when some agreements of this load were already
// recorded, or share ids) stops changing; the wait is bounded by LoadWait
// and running out of it is a warning, not a failure. It also picks an id
// for the hints.
func (r *runner) waitForGateway(ctx context.Context, gw bilatv1.AgreementServiceClient, expected int64, loaded bool) (int64, string, error) {
	const stableFor = 3 * time.Second
	deadline := time.Now().Add(r.cfg.LoadWait)
	var (
		total     int64 = -1
		changedAt       = time.Now()
		lastErr   error
	)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := gw.ListAgreements(cctx, &bilatv1.ListAgreementsRequest{PageSize: 1})
		cancel()
		if err == nil {
			if resp.GetTotalSize() != total {
				total, changedAt = resp.GetTotalSize(), time.Now()
			}
			done := !loaded || total >= expected || (total > 0 && time.Since(changedAt) >= stableFor)
			if done {
				return total, r.sampleID(ctx, gw), nil
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil && total < 0 {
				return 0, "", fmt.Errorf("gateway does not answer ListAgreements after %s: %w; see %s", r.cfg.LoadWait, lastErr, r.logs["gateway"])
			}
			r.say("warning: the gateway lists %d agreements after %s, expected %d; the pipeline may be behind (see %s)",
				total, r.cfg.LoadWait, expected, filepath.Dir(r.logs["gateway"]))
			return total, r.sampleID(ctx, gw), nil
		}
		select {
		case <-ctx.Done():
			return 0, "", context.Cause(ctx)
		case <-time.After(poll):
		}
	}
}

// sampleID returns an agreement id to show in the hints, preferring Georgia.
func (r *runner) sampleID(ctx context.Context, gw bilatv1.AgreementServiceClient) string {
	for _, partner := range []string{"GE", ""} {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := gw.ListAgreements(cctx, &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{Partner: partner}, PageSize: 1})
		cancel()
		if err == nil && len(resp.GetAgreements()) > 0 {
			return resp.GetAgreements()[0].GetId()
		}
	}
	return ""
}

type loadSummary struct {
	file string
	res  *client.ImportResult
}

func (r *runner) summary(natsURL, natsNote, redisURL, redisNote string, loaded []loadSummary, total, expected int64, sampleID string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nBilat is running (data dir %s)\n", r.cfg.DataDir)
	fmt.Fprintf(&b, "  %-11s %-26s %s\n", "NATS", natsURL, natsNote)
	fmt.Fprintf(&b, "  %-11s %-26s %s\n", "Redis", redisURL, redisNote)
	for _, s := range r.cfg.Services {
		fmt.Fprintf(&b, "  %-11s %-26s pid %d, metrics http://%s/metrics, log %s\n", s.Name, s.GRPCAddr, r.procs[s.Name].PID(), s.HTTPAddr, r.logs[s.Name])
	}
	for _, l := range loaded {
		fmt.Fprintf(&b, "loaded %s: %d lines, %d accepted, %d duplicates, %d rejected\n",
			l.file, l.res.Lines, l.res.Accepted, l.res.Duplicates, l.res.Rejected)
		for _, rj := range l.res.Rejections {
			fmt.Fprintf(&b, "  %s\n", rj)
		}
	}
	fmt.Fprintf(&b, "the gateway lists %d agreements", total)
	if len(loaded) > 0 && total != expected {
		fmt.Fprintf(&b, " (%d agreement lines loaded)", expected)
	}
	b.WriteString("\n\nTry:\n")
	self := r.cfg.Self
	gw := ""
	if addr := r.addr("gateway"); addr != "127.0.0.1:7100" {
		gw = " --gateway " + addr
	}
	id := sampleID
	if id == "" {
		id = "<id>"
	}
	for _, c := range []string{
		"agreements list --partner Georgia --with-subentities --from 2017",
		"partners show GE --from 2017",
		"agreements get " + id,
		"trade balance AF",
		"trade target GE",
		"agreements watch --partner China --domain science_technology",
	} {
		fmt.Fprintf(&b, "  %s %s%s\n", self, c, gw)
	}
	if gw == "" { // the gateway's default HTTP/JSON address goes with its default gRPC one
		b.WriteString("  curl -s http://127.0.0.1:7080/v1/partners/AF/trade/growth   (HTTP/JSON; docs/api.md)\n")
	}
	b.WriteString("\nCtrl-C stops everything; state stays in " + r.cfg.DataDir + " for the next run.\n")
	_, _ = io.WriteString(r.out, b.String())
}

func (r *runner) addr(name string) string {
	for _, s := range r.cfg.Services {
		if s.Name == name {
			return s.GRPCAddr
		}
	}
	return ""
}

// say prints one line of the supervisor's own.
func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.out, "bilat dev: "+format+"\n", args...)
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// check validates the configuration before anything is started.
func (c *Config) check() error {
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Environ == nil {
		c.Environ = os.Environ()
	}
	if c.Infra == nil {
		c.Infra = localInfra{natsSync: c.NATSSync}
	}
	if c.Self == "" {
		c.Self = "bilat"
	}
	if c.StartTimeout <= 0 || c.StopTimeout <= 0 || c.LoadWait <= 0 {
		return errors.New("start, stop and load-wait timeouts must be positive")
	}
	if c.DataDir == "" {
		return errors.New("--data-dir must not be empty")
	}
	if len(c.Load) > 0 && c.LoadFile == nil {
		return errors.New("no loader configured")
	}
	var missing []string
	for _, s := range c.Services {
		p := filepath.Join(c.BinDir, s.Name)
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("service binaries missing or not executable: %s (build them with `make build`, or set --bin-dir)", strings.Join(missing, ", "))
	}
	for _, f := range c.Load {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("data file to load: %w (use --load to name others, or --no-load)", err)
		}
	}
	return nil
}
