package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"bilat.dev/pkg/localstack"
	"bilat.dev/pkg/redisx"
)

var serviceNames = []string{"ingest", "enrichment", "statistics", "gateway"}

// proc is one service child process.
type proc struct {
	name, bin, grpcAddr, httpAddr, logPath string
	env                                    []string
	cmd                                    *exec.Cmd
	exited                                 chan struct{}
	conn                                   *grpc.ClientConn
	peakRSS                                int64 // bytes, the highest VmHWM seen over all its runs
}

// stack is NATS, Redis and the four services, each on a free port.
type stack struct {
	log     *slog.Logger
	dir     string
	ns      *server.Server // NATS inside this process, as `make run` runs it
	nats    *proc          // or this binary again, as the NATS server (natsproc.go)
	natsURL string
	nc      *nats.Conn
	js      jetstream.JetStream
	redis   *localstack.RedisProcess
	rdb     *redis.Client
	procs   map[string]*proc
	// serviceEnv is added to the environment of every service and of
	// the NATS path's relays, which stand in for them (-service-env).
	serviceEnv []string

	redisPid int // redis-server's, once redisPID has asked
}

func freeAddr() (string, error) {
	p, err := localstack.FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

func startStack(ctx context.Context, cfg *Config, log *slog.Logger, gazetteerPath string) (*stack, error) {
	st := &stack{log: log, dir: cfg.workDir, procs: map[string]*proc{}, serviceEnv: cfg.ServiceEnv}
	// The server's default fsync interval, as the e2e suite and testenv use;
	// `make run` fsyncs every write, which the docs discuss separately.
	var err error
	if cfg.NATSProcess {
		st.nats, st.nc, err = startNATS(ctx, st.dir)
	} else {
		st.ns, st.nc, err = startInProcessNATS(st.dir)
	}
	if err != nil {
		return nil, err
	}
	st.natsURL = st.nc.ConnectedUrl()
	redisPort, err := localstack.FreePort()
	if err != nil {
		st.close()
		return nil, err
	}
	st.redis, err = localstack.StartRedis(ctx, localstack.RedisOptions{Port: redisPort, Dir: filepath.Join(st.dir, "redis")})
	if err != nil {
		st.close()
		return nil, err
	}
	st.rdb = redis.NewClient(&redis.Options{Addr: st.redis.Addr(), PoolSize: 64, Protocol: redisx.Protocol})
	st.js, err = jetstream.New(st.nc)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	for _, name := range serviceNames {
		ga, err := freeAddr()
		if err != nil {
			st.close()
			return nil, err
		}
		ha, err := freeAddr()
		if err != nil {
			st.close()
			return nil, err
		}
		p := &proc{
			name: name, bin: filepath.Join(cfg.BinDir, name), grpcAddr: ga, httpAddr: ha,
			logPath: filepath.Join(st.dir, name+".log"),
			env: []string{
				"BILAT_NATS_URL=" + st.natsURL,
				"BILAT_REDIS_URL=" + st.redis.URL(),
				"BILAT_GRPC_ADDR=" + ga,
				"BILAT_HTTP_ADDR=" + ha,
				"BILAT_GAZETTEER=" + gazetteerPath,
				"BILAT_LOG_LEVEL=warn",
			},
		}
		p.env = append(p.env, st.serviceEnv...)
		p.conn, err = grpc.NewClient(ga, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			st.close()
			return nil, fmt.Errorf("grpc client %s: %w", name, err)
		}
		if name == "gateway" {
			// Its peers and its HTTP/JSON API on this stack's addresses, never
			// the defaults a `make run` on the same machine may be using.
			api, err := freeAddr()
			if err != nil {
				st.close()
				return nil, err
			}
			p.env = append(p.env,
				"BILAT_STATISTICS_ADDR="+st.procs["statistics"].grpcAddr,
				"BILAT_ENRICHMENT_ADDR="+st.procs["enrichment"].grpcAddr,
				"BILAT_HTTP_API_ADDR="+api)
		}
		st.procs[name] = p
		if err := p.start(); err != nil {
			st.close()
			return nil, err
		}
	}
	for _, name := range serviceNames {
		if err := st.procs[name].waitServing(ctx, 60*time.Second); err != nil {
			st.close()
			return nil, err
		}
	}
	return st, nil
}

func (p *proc) start() error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("log of %s: %w", p.name, err)
	}
	cmd := exec.Command(p.bin)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s from %s (`make build` builds the services): %w", p.name, p.bin, err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(p.exited) }()
	return nil
}

func (p *proc) waitServing(ctx context.Context, timeout time.Duration) error {
	hc := healthpb.NewHealthClient(p.conn)
	return p.waitReady(ctx, timeout, "SERVING", func() error {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		r, err := hc.Check(cctx, &healthpb.HealthCheckRequest{})
		if err == nil && r.Status != healthpb.HealthCheckResponse_SERVING {
			err = fmt.Errorf("health %s", r.Status)
		}
		return err
	})
}

// waitReady calls ready every 20 ms until it succeeds, the process exits,
// ctx ends or timeout passes; state names what ready checks, for errors.
func (p *proc) waitReady(ctx context.Context, timeout time.Duration, state string, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited during start: %s", p.name, p.tail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not %s after %s (%v): %s", p.name, state, timeout, err, p.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits; the peak RSS is sampled first.
func (p *proc) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.sampleRSS()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within 30s of SIGTERM", p.name)
	}
}

// sampleRSS records VmHWM, the kernel's peak resident set of the process.
func (p *proc) sampleRSS() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	if v := vmHWM(p.cmd.Process.Pid); v > p.peakRSS {
		p.peakRSS = v
	}
}

// vmHWM reads the peak RSS of pid in bytes (0 when unknown).
func vmHWM(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// fetch GETs a pprof endpoint of the service into path.
func (p *proc) fetch(ctx context.Context, endpoint, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.httpAddr+endpoint, nil)
	if err != nil {
		return fmt.Errorf("pprof %s: %w", p.name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("pprof %s %s: %w", p.name, endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof %s %s: %s", p.name, endpoint, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("pprof %s: %w", p.name, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("pprof %s: %w", p.name, err)
	}
	return f.Close()
}

// redisPeakRSS is redis-server's VmHWM.
func (st *stack) redisPeakRSS(ctx context.Context) int64 {
	if pid := st.redisPID(ctx); pid > 0 {
		return vmHWM(pid)
	}
	return 0
}

// redisPID is redis-server's process id from INFO's process_id (0 when
// unknown), asked once.
func (st *stack) redisPID(ctx context.Context) int {
	if st.redisPid == 0 {
		st.redisPid = st.askRedisPID(ctx)
	}
	return st.redisPid
}

func (st *stack) askRedisPID(ctx context.Context) int {
	info, err := st.rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			if pid, err := strconv.Atoi(v); err == nil {
				return pid
			}
		}
	}
	return 0
}

// usedMemory is Redis INFO memory used_memory.
func (st *stack) usedMemory(ctx context.Context) (int64, error) {
	info, err := st.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("redis info: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("redis info: no used_memory")
}

func (st *stack) close() {
	for i := len(serviceNames) - 1; i >= 0; i-- {
		if p := st.procs[serviceNames[i]]; p != nil {
			if err := p.stop(); err != nil {
				st.log.Warn("stop service", "service", p.name, "err", err)
			}
			if p.conn != nil {
				p.conn.Close()
			}
		}
	}
	if st.nc != nil {
		st.nc.Close()
	}
	if st.rdb != nil {
		st.rdb.Close()
	}
	if st.redis != nil {
		if err := st.redis.Stop(); err != nil {
			st.log.Warn("stop redis", "err", err)
		}
	}
	if st.ns != nil {
		st.ns.Shutdown()
		st.ns.WaitForShutdown()
	}
	if st.nats != nil {
		if err := st.nats.stop(); err != nil {
			st.log.Warn("stop nats", "err", err)
		}
	}
}

// handleMean is the mean of bilat_jetstream_handle_seconds (handler plus
// ack, one message) over the process's life, and how many messages it covers.
func (p *proc) handleMean(ctx context.Context) (time.Duration, int64, error) {
	sum, count, err := p.handleTotals(ctx)
	if err != nil || count == 0 {
		return 0, 0, err
	}
	return time.Duration(sum / float64(count) * float64(time.Second)), count, nil
}

// handleTotals is the sum (seconds) and count of bilat_jetstream_handle_seconds.
func (p *proc) handleTotals(ctx context.Context) (float64, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.httpAddr+"/metrics", nil)
	if err != nil {
		return 0, 0, fmt.Errorf("metrics %s: %w", p.name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("metrics %s: %w", p.name, err)
	}
	defer resp.Body.Close()
	var sum, count float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		_, v, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			continue
		}
		switch name {
		case "bilat_jetstream_handle_seconds_sum":
			sum += f
		case "bilat_jetstream_handle_seconds_count":
			count += f
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("metrics %s: %w", p.name, err)
	}
	return sum, int64(count), nil
}
