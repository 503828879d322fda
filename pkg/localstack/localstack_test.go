package localstack_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/localstack"
)

// A persistent Redis keeps its data across a stop and start.
func TestRedisPersists(t *testing.T) {
	ctx := context.Background()
	port, err := localstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := localstack.StartRedis(ctx, localstack.RedisOptions{Port: port, Dir: dir, Persist: true})
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: p.Addr()})
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	p, err = localstack.StartRedis(ctx, localstack.RedisOptions{Port: port, Dir: dir, Persist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	c = redis.NewClient(&redis.Options{Addr: p.Addr()})
	defer c.Close()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after restart got %q, %v", v, err)
	}
}

func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := localstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
