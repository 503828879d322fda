// Package redisx connects to the Redis server that holds the projections.
package redisx

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Protocol is the RESP version Bilat's clients speak unless a URL sets
// one (?protocol=3). The projections use nothing RESP3 adds, and go-redis
// checks for RESP3 push notifications before reading every reply: about
// 7 % of the gateway's CPU while it served trade series
// (docs/benchmarks.md). Tests, the bench and the services all use it, so
// what is tested is what runs.
const Protocol = 2

// Connect parses a redis:// URL and waits (until ctx ends) for the server to
// answer PING, so a service started before Redis comes up once it is there.
func Connect(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	if opts.Protocol == 0 {
		opts.Protocol = Protocol
	}
	c := redis.NewClient(opts)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = c.Ping(pctx).Err()
		cancel()
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			_ = c.Close()
			return nil, fmt.Errorf("connect redis %s: %w", opts.Addr, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
