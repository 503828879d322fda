// Package e2e runs the built services as processes on a real NATS server
// with JetStream and a real redis-server, and drives them the way users
// do: through the public gRPC API, raw JetStream publishes and the bilat
// tool.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

var (
	repoRoot string
	binDir   string
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "bilat-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", binDir+"/",
		"./services/ingest/cmd/ingest", "./services/enrichment/cmd/enrichment",
		"./services/statistics/cmd/statistics", "./services/gateway/cmd/gateway", "./cmd/bilat")
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the services failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: runs without -short")
	}
}

// service is one running service process.
type service struct {
	name     string
	env      []string
	grpcAddr string
	logPath  string
	cmd      *exec.Cmd
	exited   chan struct{}
}

func (s *service) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, s.name))
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", s.name, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(s.exited) }()
}

// kill stops the process as a crash would.
func (s *service) kill(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (s *service) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s exited with code %d after SIGTERM; log:\n%s", s.name, code, s.log())
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("%s did not stop within 30s of SIGTERM", s.name)
	}
}

func (s *service) log() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

// stack is the four services on their own NATS and Redis.
type stack struct {
	t        *testing.T
	nats     *testenv.NATSServer
	redis    *testenv.RedisServer
	services map[string]*service
	conns    map[string]*grpc.ClientConn
	// apiURL is the gateway's HTTP/JSON API ("http://127.0.0.1:port").
	apiURL string
}

var serviceNames = []string{"ingest", "enrichment", "statistics", "gateway"}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackEnv(t, nil)
}

// newStackEnv is newStack with extra environment for every service
// (BILAT_AUTH_TOKENS_FILE, BILAT_RATE_LIMIT, ...).
func newStackEnv(t *testing.T, extraEnv []string) *stack {
	t.Helper()
	skipShort(t)
	st := &stack{t: t, nats: testenv.NATS(t), redis: testenv.Redis(t), services: map[string]*service{}, conns: map[string]*grpc.ClientConn{}}
	apiAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	st.apiURL = "http://" + apiAddr
	logDir := t.TempDir()
	for _, name := range serviceNames {
		addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		s := &service{
			name:     name,
			grpcAddr: addr,
			logPath:  filepath.Join(logDir, name+".log"),
			env: []string{
				"BILAT_NATS_URL=" + st.nats.URL,
				"BILAT_REDIS_URL=" + st.redis.URL,
				"BILAT_GRPC_ADDR=" + addr,
				"BILAT_HTTP_ADDR=127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
				"BILAT_GAZETTEER=" + filepath.Join(repoRoot, "data", "gazetteer", "entities.ndjson"),
				"BILAT_LOG_LEVEL=info",
			},
		}
		if name == "gateway" {
			s.env = append(s.env,
				"BILAT_STATISTICS_ADDR="+st.services["statistics"].grpcAddr,
				"BILAT_ENRICHMENT_ADDR="+st.services["enrichment"].grpcAddr,
				"BILAT_HTTP_API_ADDR="+apiAddr)
		}
		s.env = append(s.env, extraEnv...)
		st.services[name] = s
		s.start(t)
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		st.conns[name] = conn
	}
	t.Cleanup(func() {
		for i := len(serviceNames) - 1; i >= 0; i-- {
			s := st.services[serviceNames[i]]
			s.stop(t)
			st.conns[s.name].Close()
		}
		if t.Failed() {
			for _, name := range serviceNames {
				t.Logf("---- %s log ----\n%s", name, st.services[name].log())
			}
		}
	})
	for _, name := range serviceNames {
		st.waitServing(name)
	}
	return st
}

func (st *stack) waitServing(name string) {
	st.t.Helper()
	hc := healthpb.NewHealthClient(st.conns[name])
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && r.Status == healthpb.HealthCheckResponse_SERVING {
			return
		}
		select {
		case <-st.services[name].exited:
			st.t.Fatalf("%s exited during start; log:\n%s", name, st.services[name].log())
		default:
		}
		if time.Now().After(deadline) {
			st.t.Fatalf("%s not SERVING after 60s (last: %v, %v); log:\n%s", name, r, err, st.services[name].log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (st *stack) ingest() bilatv1.IngestServiceClient {
	return bilatv1.NewIngestServiceClient(st.conns["ingest"])
}
func (st *stack) agreements() bilatv1.AgreementServiceClient {
	return bilatv1.NewAgreementServiceClient(st.conns["gateway"])
}
func (st *stack) trade() bilatv1.TradeServiceClient {
	return bilatv1.NewTradeServiceClient(st.conns["gateway"])
}
func (st *stack) statistics() bilatv1.StatisticsServiceClient {
	return bilatv1.NewStatisticsServiceClient(st.conns["statistics"])
}

// bilat runs the bilat tool against the stack and returns its output.
func (st *stack) bilat(args ...string) (stdout, stderr string, code int) {
	st.t.Helper()
	return st.bilatStdin("", args...)
}

// bilatStdin is bilat with stdin.
func (st *stack) bilatStdin(stdin string, args ...string) (stdout, stderr string, code int) {
	st.t.Helper()
	return st.bilatWith(nil, stdin, args...)
}

// bilatEnv is bilat with extra environment (a token, say).
func (st *stack) bilatEnv(env []string, args ...string) (stdout, stderr string, code int) {
	st.t.Helper()
	return st.bilatWith(env, "", args...)
}

func (st *stack) bilatWith(env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	st.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "bilat"), args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(),
		"XDG_CONFIG_HOME="+st.t.TempDir(), "HOME="+st.t.TempDir(), // no user config file
		"BILAT_GATEWAY="+st.services["gateway"].grpcAddr,
		"BILAT_SERVER="+st.services["gateway"].grpcAddr,
		"BILAT_INGEST="+st.services["ingest"].grpcAddr,
		"BILAT_STATISTICS="+st.services["statistics"].grpcAddr,
		"BILAT_ENRICHMENT="+st.services["enrichment"].grpcAddr)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			st.t.Fatalf("bilat %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// pipelineIdle waits until every consumer has nothing pending or unacked.
func (st *stack) pipelineIdle(timeout time.Duration) {
	st.t.Helper()
	consumers := [][2]string{{"BILAT_INGEST", "ingest"}, {"BILAT_EVENTS", "enrichment"}, {"BILAT_ENRICHED", "statistics"}}
	testenv.Eventually(st.t, timeout, "pipeline idle", func() bool {
		for _, c := range consumers {
			cons, err := st.nats.JS.Consumer(context.Background(), c[0], c[1])
			if err != nil {
				return false
			}
			info, err := cons.Info(context.Background())
			if err != nil || info.NumPending != 0 || info.NumAckPending != 0 {
				return false
			}
		}
		return true
	})
}

// countLines counts the non-blank lines of a file under the repo root.
func countLines(t *testing.T, rel string) int {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			n++
		}
	}
	return n
}
