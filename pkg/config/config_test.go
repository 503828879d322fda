package config

import (
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	t.Setenv("BILAT_NATS_URL", "nats://env:1")
	t.Setenv("BILAT_X", "7")
	fs := NewFlagSet("t")
	var c Common
	c.Register(fs, ":1", ":2")
	x := Int(fs, "x", "BILAT_X", 1, "x")
	y := String(fs, "y", "BILAT_Y_UNSET", "def", "y")
	if err := Parse(fs, []string{"--grpc-addr", ":9"}); err != nil {
		t.Fatal(err)
	}
	if c.NATSURL != "nats://env:1" || c.GRPCAddr != ":9" || c.HTTPAddr != ":2" || *x != 7 || *y != "def" {
		t.Fatalf("got %+v x=%d y=%s", c, *x, *y)
	}
	if c.ShutdownTimeout != 15*time.Second {
		t.Fatalf("shutdown timeout %v", c.ShutdownTimeout)
	}
	fs2 := NewFlagSet("t2")
	var c2 Common
	c2.Register(fs2, ":1", ":2")
	if err := Parse(fs2, []string{"--nats-url", "nats://flag:2"}); err != nil {
		t.Fatal(err)
	}
	if c2.NATSURL != "nats://flag:2" {
		t.Fatalf("flag should win over env, got %s", c2.NATSURL)
	}
}

func TestBadEnvReported(t *testing.T) {
	t.Setenv("BILAT_SHUTDOWN_TIMEOUT", "soon")
	fs := NewFlagSet("t")
	var c Common
	c.Register(fs, ":1", ":2")
	if err := Parse(fs, nil); err == nil {
		t.Fatal("malformed BILAT_SHUTDOWN_TIMEOUT accepted")
	}
}

func TestEdgeSettings(t *testing.T) {
	t.Setenv("BILAT_RATE_LIMIT", "2.5")
	t.Setenv("BILAT_AUTH_TOKENS_FILE", "/etc/bilat/tokens")
	fs := NewFlagSet("t")
	var c Common
	c.Register(fs, ":1", ":2")
	if err := Parse(fs, []string{"--rate-burst", "7", "--tls-ca", "ca.pem"}); err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 2.5 || c.RateBurst != 7 || c.AuthTokensFile != "/etc/bilat/tokens" || c.TLSCA != "ca.pem" || c.MaxMsgBytes != 4<<20 {
		t.Fatalf("got %+v", c)
	}
	if tc, err := c.ServerTLS(); tc != nil || err != nil {
		t.Fatalf("no cert: %v %v", tc, err)
	}
	if _, err := c.ClientTLS(); err == nil {
		t.Fatal("missing CA file accepted")
	}

	t.Setenv("BILAT_RATE_LIMIT", "fast")
	fs2 := NewFlagSet("t2")
	var c2 Common
	c2.Register(fs2, ":1", ":2")
	if err := Parse(fs2, nil); err == nil {
		t.Fatal("malformed BILAT_RATE_LIMIT accepted")
	}
}
