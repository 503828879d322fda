package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestParse(t *testing.T) {
	tok, err := Parse(strings.NewReader(`
# comment
  newsdesk  publish  sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

ops read,publish,admin plain-secret
`))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Len() != 2 {
		t.Fatalf("len %d", tok.Len())
	}
	if c := tok.Lookup("test"); c == nil || c.Name != "newsdesk" || !c.Has(Publish) || c.Has(Read) {
		t.Fatalf("sha256 entry: %+v", c)
	}
	if c := tok.Lookup("plain-secret"); c == nil || c.Name != "ops" || !c.Has(Admin) {
		t.Fatalf("plain entry: %+v", c)
	}
	if tok.Lookup("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08") != nil {
		t.Fatal("the hash itself must not work as a token")
	}
	if tok.Lookup("") != nil || tok.Lookup("plain") != nil {
		t.Fatal("prefix or empty token accepted")
	}
}

func TestParseErrors(t *testing.T) {
	for name, text := range map[string]string{
		"two fields":     "a read",
		"four fields":    "a read s extra",
		"unknown scope":  "a write s",
		"empty scope":    "a read, s",
		"short hash":     "a read sha256:abcd",
		"bad hex":        "a read sha256:" + strings.Repeat("zz", 32),
		"duplicate name": "a read s1\na publish s2",
		"shared secret":  "a read s\nb publish s",
	} {
		if _, err := Parse(strings.NewReader(text)); err == nil {
			t.Errorf("%s: %q accepted", name, text)
		}
	}
}

func TestPolicy(t *testing.T) {
	p := Policy{
		"/bilat.v1.StatisticsService/":                   Read,
		"/bilat.v1.StatisticsService/RebuildProjections": Admin,
	}
	for method, want := range map[string]Scope{
		"/bilat.v1.StatisticsService/RebuildProjections": Admin,
		"/bilat.v1.StatisticsService/AddedLater":         Read,
	} {
		if got, ok := p.Required(method); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", method, got, ok, want)
		}
	}
	if _, ok := p.Required("/bilat.v1.OtherService/Get"); ok {
		t.Error("unlisted service covered")
	}
	if !Open("/grpc.health.v1.Health/Check") || !Open("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") || Open("/bilat.v1.StatisticsService/X") {
		t.Error("Open")
	}
}

func TestGuardReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("alice read first-token\n")
	g := &Guard{path: path, policy: Policy{"/s.S/": Read}}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	check := func(tok string) codes.Code {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "bearer "+tok))
		_, err := g.Check(ctx, "/s.S/M")
		return status.Code(err)
	}
	if c := check("first-token"); c != codes.OK {
		t.Fatalf("first token: %v", c)
	}
	write("alice read second-token\n")
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if check("first-token") != codes.Unauthenticated || check("second-token") != codes.OK {
		t.Fatal("reload did not replace the tokens")
	}
	write("alice nonsense second-token\n")
	if err := g.Reload(); err == nil {
		t.Fatal("bad file accepted")
	}
	if check("second-token") != codes.OK {
		t.Fatal("a bad file must leave the tokens in force")
	}
}

func TestClientContext(t *testing.T) {
	ctx := WithSlot(context.Background())
	if _, ok := ClientFromContext(ctx); ok {
		t.Fatal("empty slot reports a client")
	}
	inner := WithClient(ctx, "alice")
	// The outer context sees the name: that is what the logging interceptor relies on.
	if n, _ := ClientFromContext(ctx); n != "alice" {
		t.Fatalf("slot %q", n)
	}
	if n, _ := ClientFromContext(inner); n != "alice" {
		t.Fatalf("inner %q", n)
	}
	if n, _ := ClientFromContext(WithClient(context.Background(), "bob")); n != "bob" {
		t.Fatalf("no slot %q", n)
	}
}
