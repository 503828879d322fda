package ratelimit

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"bilat.dev/pkg/auth"
)

func TestBurstThenRefill(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := New(2, 3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("call %d within burst refused", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over burst: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another client refused")
	}
	now = now.Add(wait)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after the advertised wait")
	}
}

func TestIdleClientsEvicted(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	l := New(10, 0)
	l.now = func() time.Time { return now }
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	if l.Len() != 3 {
		t.Fatalf("len %d", l.Len())
	}
	now = now.Add(2 * time.Minute)
	l.Allow("d")
	if l.Len() != 1 {
		t.Fatalf("idle buckets kept: len %d", l.Len())
	}
}

func TestOff(t *testing.T) {
	if New(0, 5) != nil {
		t.Fatal("rate 0 should disable")
	}
	var l *Limiter
	if err := l.check(context.Background(), "/x.X/Y"); err != nil {
		t.Fatal(err)
	}
}

func TestKey(t *testing.T) {
	at := func(ip string, md ...string) context.Context {
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: 5000}})
		return metadata.NewIncomingContext(ctx, metadata.Pairs(md...))
	}
	for name, c := range map[string]struct {
		ctx  context.Context
		want string
	}{
		"peer":                  {at("10.1.2.3"), "ip:10.1.2.3"},
		"forwarded by loopback": {at("127.0.0.1", "x-forwarded-for", "203.0.113.9"), "ip:203.0.113.9"},
		"client's own xff":      {at("127.0.0.1", "x-forwarded-for", " 6.6.6.6 , 203.0.113.9 "), "ip:203.0.113.9"},
		"forwarded by ipv6 lo":  {at("::1", "x-forwarded-for", "203.0.113.9"), "ip:203.0.113.9"},
		"forwarded by remote":   {at("10.1.2.3", "x-forwarded-for", "203.0.113.9"), "ip:10.1.2.3"},
		"client wins":           {auth.WithClient(at("127.0.0.1", "x-forwarded-for", "203.0.113.9"), "alice"), "client:alice"},
	} {
		if got := Key(c.ctx); got != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}
