package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// configShow runs `bilat config show -o csv` with env and args and returns
// setting -> [value, source].
func configShow(t *testing.T, env map[string]string, args ...string) (map[string][2]string, result) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRoot(Streams{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(k string) string { return env[k] }})
	root.SetArgs(append(args, "config", "show", "-o", "csv"))
	err := root.ExecuteContext(context.Background())
	r := result{out.String(), errOut.String(), ExitCode(err)}
	if err != nil {
		r.stderr += err.Error()
		return nil, r
	}
	recs, perr := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if perr != nil {
		t.Fatalf("csv: %v\n%s", perr, out.String())
	}
	m := map[string][2]string{}
	for _, rec := range recs[1:] {
		m[rec[0]] = [2]string{rec[1], rec[2]}
	}
	return m, r
}

func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, "bilat", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigPrecedence(t *testing.T) {
	xdg := t.TempDir()
	path := writeConfig(t, xdg, "# test\nserver: file.example:1\ntoken: 'file-token-0123456789'\ntimeout: 20s # slow link\nstatistics: \"stats.file:3\"\n")
	other := writeConfig(t, t.TempDir(), "server: other.example:9\n")
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		key        string
		want       string
		wantSource string
	}{
		{"default", nil, nil, "server", DefaultServer, "default"},
		{"default timeout", nil, nil, "timeout", "10s", "default"},
		{"config file", map[string]string{"XDG_CONFIG_HOME": xdg}, nil, "server", "file.example:1", "config " + path},
		{"env beats file", map[string]string{"XDG_CONFIG_HOME": xdg, EnvServer: "env.example:2"}, nil, "server", "env.example:2", "env " + EnvServer},
		{"old env name", map[string]string{EnvGateway: "old.example:2"}, nil, "server", "old.example:2", "env " + EnvGateway},
		{"new env beats old", map[string]string{EnvGateway: "old.example:2", EnvServer: "new.example:2"}, nil, "server", "new.example:2", "env " + EnvServer},
		{"flag beats env", map[string]string{"XDG_CONFIG_HOME": xdg, EnvServer: "env.example:2"}, []string{"--server", "flag.example:3"}, "server", "flag.example:3", "flag --server"},
		{"--gateway alias", nil, []string{"--gateway", "gw.example:3"}, "server", "gw.example:3", "flag --server"},
		{"token masked", map[string]string{"XDG_CONFIG_HOME": xdg}, nil, "token", "****6789", "config " + path},
		{"short token fully masked", map[string]string{EnvToken: "abc"}, nil, "token", "****", "env " + EnvToken},
		{"comment stripped", map[string]string{"XDG_CONFIG_HOME": xdg}, nil, "timeout", "20s", "config " + path},
		{"quoted", map[string]string{"XDG_CONFIG_HOME": xdg}, nil, "statistics", "stats.file:3", "config " + path},
		{"env for a command flag", map[string]string{EnvStatistics: "stats.env:4"}, nil, "statistics", "stats.env:4", "env " + EnvStatistics},
		{"explicit config by env", map[string]string{"XDG_CONFIG_HOME": xdg, EnvConfig: other}, nil, "server", "other.example:9", "config " + other},
		{"explicit config by flag", map[string]string{EnvConfig: path}, []string{"--config", other}, "server", "other.example:9", "config " + other},
		{"HOME fallback", map[string]string{"HOME": filepath.Dir(filepath.Dir(filepath.Dir(path)))}, nil, "server", DefaultServer, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := configShow(t, tt.env, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if got := m[tt.key]; got[0] != tt.want || got[1] != tt.wantSource {
				t.Errorf("%s = %q from %q, want %q from %q", tt.key, got[0], got[1], tt.want, tt.wantSource)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	// A missing default file is fine; a missing explicit one is an error.
	if _, r := configShow(t, map[string]string{"XDG_CONFIG_HOME": dir}); r.code != 0 {
		t.Errorf("missing default config: %+v", r)
	}
	if _, r := configShow(t, nil, "--config", filepath.Join(dir, "nope.yaml")); r.code != ExitInvalid || !strings.Contains(r.stderr, "nope.yaml") {
		t.Errorf("missing explicit config: %+v", r)
	}
	bad := writeConfig(t, dir, "server: a:1\nsevrer: b:2\n")
	if _, r := configShow(t, map[string]string{EnvConfig: bad}); r.code != ExitInvalid || !strings.Contains(r.stderr, `line 2: unknown key "sevrer"`) {
		t.Errorf("unknown key: %+v", r)
	}
	badTimeout := writeConfig(t, t.TempDir(), "timeout: soon\n")
	if _, r := configShow(t, map[string]string{EnvConfig: badTimeout}); r.code != ExitInvalid || !strings.Contains(r.stderr, `timeout (from config `) {
		t.Errorf("bad timeout in config: %+v", r)
	}
	var out bytes.Buffer
	root := NewRoot(Streams{Out: &out, Err: &out, Getenv: func(k string) string { return map[string]string{EnvOutput: "yaml"}[k] }})
	root.SetArgs([]string{"config", "show"})
	if err := root.Execute(); ExitCode(err) != ExitInvalid || !strings.Contains(err.Error(), "one of: table, json, csv") {
		t.Errorf("bad output from env: %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		text    string
		want    map[string]string
		errPart string
	}{
		{"", map[string]string{}, ""},
		{"---\nserver: h:1\n", map[string]string{"server": "h:1"}, ""},
		{"tls_ca: /x/ca.pem\n", map[string]string{"tls-ca": "/x/ca.pem"}, ""},
		{"token: \"a#b\"\n", map[string]string{"token": "a#b"}, ""},
		{"token: 'it''s'\n", map[string]string{"token": "it's"}, ""},
		{"server h\n", nil, "line 1: want \"key: value\""},
		{"colour: red\n", nil, "unknown key \"colour\""},
	}
	for _, tt := range tests {
		got, err := parseConfig(tt.text)
		if tt.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errPart) {
				t.Errorf("parseConfig(%q) err = %v, want %q", tt.text, err, tt.errPart)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("parseConfig(%q) = %v, %v", tt.text, got, err)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("parseConfig(%q)[%s] = %q, want %q", tt.text, k, got[k], v)
			}
		}
	}
}

// TestTokenSent checks that --token (here from the config file) reaches
// the server as bearer metadata, on unary and streaming calls.
func TestTokenSent(t *testing.T) {
	srv, _ := goldenServer(t)
	var auth []string
	g := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			auth = append(auth, md.Get("authorization")...)
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(s any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			md, _ := metadata.FromIncomingContext(ss.Context())
			auth = append(auth, md.Get("authorization")...)
			return h(s, ss)
		}))
	srv.Register(g)
	addr := listen(t, g)
	cfg := writeConfig(t, t.TempDir(), "token: s3cret\n")
	var out, errOut bytes.Buffer
	root := NewRoot(Streams{Out: &out, Err: &errOut, Getenv: func(k string) string { return map[string]string{EnvConfig: cfg}[k] }})
	root.SetArgs([]string{"--server", addr, "agreements", "get", "ge-2018-trade"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if len(auth) != 1 || auth[0] != "Bearer s3cret" {
		t.Errorf("authorization sent: %q", auth)
	}
}

func listen(t *testing.T, g *grpc.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}
