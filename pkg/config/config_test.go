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
