package dev

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"bilat.dev/pkg/localstack"
)

// TestLocalInfra starts the real NATS and redis-server the way `bilat dev`
// does, checks both accept connections and keep their state in the data
// dir, and stops them.
func TestLocalInfra(t *testing.T) {
	dir := t.TempDir()
	natsPort, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	redisPort, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	var infra localInfra
	natsURL, stopNATS, err := infra.StartNATS(natsPort, filepath.Join(dir, "nats"))
	if err != nil {
		t.Fatal(err)
	}
	redisURL, stopRedis, err := infra.StartRedis(context.Background(), redisPort, filepath.Join(dir, "redis"), filepath.Join(dir, "redis.log"))
	if err != nil {
		_ = stopNATS()
		t.Fatal(err)
	}
	for _, raw := range []string{natsURL, redisURL} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		c.Close()
	}
	if err := stopRedis(); err != nil {
		t.Errorf("stop redis: %v", err)
	}
	if err := stopNATS(); err != nil {
		t.Errorf("stop nats: %v", err)
	}
	for _, p := range []string{"nats/jetstream", "redis/appendonlydir"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("state not kept in the data dir: %v", err)
		}
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(redisPort)), time.Second); err == nil {
		c.Close()
		t.Error("redis still listening after stop")
	}
}
