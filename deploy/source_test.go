package deploy

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the workspace root; tests run in deploy/.
const repoRoot = ".."

// services are the four services; each lives in services/<name>/cmd/<name>.
var services = []string{"ingest", "enrichment", "statistics", "gateway"}

// programs are what the Dockerfile can build: the services and the tool.
var programs = append(slices.Clone(services), "bilat")

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot}, parts...)...)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serviceDefaults are a service's built-in listen addresses.
type serviceDefaults struct {
	GRPCPort, HTTPPort int
}

var reRegister = regexp.MustCompile(`\.Register\(fs,\s*"([^"]*)",\s*"([^"]*)"\)`)

// defaultPorts reads the ports a service passes to config.Common.Register
// in its main.go.
func defaultPorts(t *testing.T, svc string) serviceDefaults {
	t.Helper()
	src := readFile(t, repoPath("services", svc, "cmd", svc, "main.go"))
	m := reRegister.FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("services/%s/cmd/%s/main.go: no Register(fs, grpcAddr, httpAddr) call found", svc, svc)
	}
	return serviceDefaults{GRPCPort: addrPort(t, m[1]), HTTPPort: addrPort(t, m[2])}
}

// addrPort is the port of a host:port listen address.
func addrPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 {
		t.Fatalf("address %q: bad port", addr)
	}
	return n
}

// Environment variables are read where a flag is declared with its
// variable (config.String(fs, "flag", "BILAT_X", ...)), in pkg/config's
// env helpers, directly with os.Getenv / os.LookupEnv, or through a named
// constant (EnvGateway = "BILAT_GATEWAY").
var reEnvRead = []*regexp.Regexp{
	regexp.MustCompile(`"[a-z][a-z0-9-]*",\s*"(BILAT_[A-Z0-9_]+)"`),
	regexp.MustCompile(`\benv(?:Int|Duration|Float)?\((?:fs,\s*)?"(BILAT_[A-Z0-9_]+)"`),
	regexp.MustCompile(`(?:Getenv|LookupEnv)\("(BILAT_[A-Z0-9_]+)"\)`),
	regexp.MustCompile(`\bEnv[A-Za-z]*\s*=\s*"(BILAT_[A-Z0-9_]+)"`),
}

func envReads(src string) []string {
	var out []string
	for _, re := range reEnvRead {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// goSources concatenates the non-test Go files under dir.
func goSources(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sb.Write(b)
			sb.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

var (
	envOnce    sync.Once
	envByProg  map[string]map[string]bool
	envLoadErr string
)

// readEnv returns, per program, the BILAT_* variables it reads: the common
// flags of pkg/config (every service registers them), the stream flags of
// pkg/natsx and the key-prefix flag of pkg/projection (for the services
// that register them) and those declared in the program's own code.
func readEnv(t *testing.T) map[string]map[string]bool {
	t.Helper()
	envOnce.Do(func() {
		common := envReads(readFile(t, repoPath("pkg", "config", "config.go")))
		streams := envReads(readFile(t, repoPath("pkg", "natsx", "topology.go")))
		prefix := envReads(readFile(t, repoPath("pkg", "projection", "flags.go")))
		envByProg = map[string]map[string]bool{}
		for _, p := range programs {
			dir := repoPath("services", p)
			if p == "bilat" {
				dir = repoPath("cmd", "bilat")
			}
			src := goSources(t, dir)
			set := map[string]bool{}
			for _, v := range envReads(src) {
				set[v] = true
			}
			if p != "bilat" {
				for _, v := range common {
					set[v] = true
				}
				if strings.Contains(src, ".RegisterFlags(fs)") {
					for _, v := range streams {
						set[v] = true
					}
				}
				if strings.Contains(src, "projection.RegisterPrefixFlag(fs)") {
					for _, v := range prefix {
						set[v] = true
					}
				}
			}
			envByProg[p] = set
		}
		for _, p := range services {
			for _, want := range []string{"BILAT_GRPC_ADDR", "BILAT_HTTP_ADDR", "BILAT_SHUTDOWN_TIMEOUT"} {
				if !envByProg[p][want] {
					envLoadErr = p + " does not seem to read " + want + ": the source scan in deploy/source_test.go needs updating"
				}
			}
		}
	})
	if envLoadErr != "" {
		t.Fatal(envLoadErr)
	}
	return envByProg
}

func TestSourceScan(t *testing.T) {
	env := readEnv(t)
	for _, want := range []struct {
		prog, env string
		read      bool
	}{
		{"enrichment", "BILAT_GAZETTEER", true},
		{"ingest", "BILAT_INGEST_SUBMIT_TIMEOUT", true},
		{"ingest", "BILAT_STREAM_REPLICAS", true},
		{"statistics", "BILAT_STREAM_REPLICAS", true},
		{"gateway", "BILAT_STREAM_REPLICAS", false},
		{"gateway", "BILAT_GAZETTEER", false},
		{"gateway", "BILAT_REDIS_KEY_PREFIX", true},
		{"bilat", "BILAT_GATEWAY", true},
	} {
		if env[want.prog][want.env] != want.read {
			t.Errorf("%s reads %s: got %v, want %v", want.prog, want.env, !want.read, want.read)
		}
	}
	for _, svc := range services {
		d := defaultPorts(t, svc)
		if d.GRPCPort == d.HTTPPort {
			t.Errorf("%s: gRPC and HTTP defaults share port %d", svc, d.GRPCPort)
		}
	}
}

// workspaceModules lists the directories of go.work's use directives.
func workspaceModules(t *testing.T) []string {
	t.Helper()
	var mods []string
	sc := bufio.NewScanner(strings.NewReader(readFile(t, repoPath("go.work"))))
	inUse := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "use ("):
			inUse = true
		case inUse && line == ")":
			inUse = false
		case inUse:
			mods = append(mods, filepath.ToSlash(filepath.Clean(line)))
		case strings.HasPrefix(line, "use "):
			mods = append(mods, filepath.ToSlash(filepath.Clean(strings.TrimSpace(strings.TrimPrefix(line, "use ")))))
		}
	}
	if len(mods) == 0 {
		t.Fatal("go.work: no use directives")
	}
	return mods
}

// goVersion is the go directive of go.work, e.g. "1.26.0".
func goVersion(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go\s+(\S+)`).FindStringSubmatch(readFile(t, repoPath("go.work")))
	if m == nil {
		t.Fatal("go.work: no go directive")
	}
	return m[1]
}
