package redisx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/localstack"
	"bilat.dev/pkg/redisx"
	"bilat.dev/pkg/testenv"
)

// Concurrent callers each get their own answers, a missing key (redis.Nil)
// of one caller being no error of the others, and every call is answered.
func TestCoalescerAnswersEachCaller(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	for i := range 50 {
		if i%5 != 0 { // every fifth key is missing
			r.Client.Set(ctx, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i), 0)
		}
	}
	co := redisx.NewCoalescer(r.Client, 2)
	defer co.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 50*20)
	for c := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 {
				i := (c + n) % 50
				var get *redis.StringCmd
				var mget *redis.SliceCmd
				if err := co.Exec(ctx, func(p redis.Pipeliner) {
					get = p.Get(ctx, fmt.Sprintf("k%d", i))
					mget = p.MGet(ctx, fmt.Sprintf("k%d", i), "absent")
				}); err != nil {
					errs <- err
					return
				}
				v, err := get.Result()
				switch {
				case i%5 == 0 && !errors.Is(err, redis.Nil):
					errs <- fmt.Errorf("k%d: %q, %v; want redis.Nil", i, v, err)
				case i%5 != 0 && (err != nil || v != fmt.Sprintf("v%d", i)):
					errs <- fmt.Errorf("k%d: %q, %v", i, v, err)
				case mget.Err() != nil || len(mget.Val()) != 2 || mget.Val()[1] != nil:
					errs <- fmt.Errorf("k%d: MGET %v, %v", i, mget.Val(), mget.Err())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCoalescerEndedContextAndClose(t *testing.T) {
	r := testenv.Redis(t)
	co := redisx.NewCoalescer(r.Client, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := co.Exec(ctx, func(p redis.Pipeliner) { p.Ping(ctx) }); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v", err)
	}
	co.Close()
	if err := co.Exec(context.Background(), func(p redis.Pipeliner) { p.Ping(context.Background()) }); !errors.Is(err, redisx.ErrCoalescerClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// With Redis gone, every caller gets its commands back with an error, and
// the coalescer keeps serving once Redis is back.
func TestCoalescerWithRedisGone(t *testing.T) {
	r := testenv.Redis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	defer func() { _ = c.Close() }()
	co := redisx.NewCoalescer(c, 2)
	defer co.Close()
	ctx := context.Background()
	r.Process.Kill()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var get *redis.StringCmd
			if err := co.Exec(ctx, func(p redis.Pipeliner) { get = p.Get(ctx, "k") }); err != nil {
				t.Errorf("Exec: %v", err)
				return
			}
			if err := get.Err(); err == nil || errors.Is(err, redis.Nil) {
				t.Errorf("GET with Redis gone: %v, want a connection error", err)
			}
		}()
	}
	wg.Wait()

	_, port, _ := net.SplitHostPort(r.Addr)
	n, _ := strconv.Atoi(port)
	back, err := localstack.StartRedis(ctx, localstack.RedisOptions{Port: n, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = back.Stop() }()
	var get *redis.StringCmd
	if err := co.Exec(ctx, func(p redis.Pipeliner) { get = p.Get(ctx, "k") }); err != nil || !errors.Is(get.Err(), redis.Nil) {
		t.Errorf("GET with Redis back: %v, %v; want redis.Nil", err, get.Err())
	}
}

// BenchmarkConcurrentGets compares concurrent GETs sent one by one on
// the client's pool (16 goroutines per core) with the same GETs through a
// Coalescer with 1, 2 and 4 round trips in flight: ns/op is per GET; the
// coalesced/direct ratio is the figure.
func BenchmarkConcurrentGets(b *testing.B) {
	r := testenv.Redis(b)
	ctx := context.Background()
	r.Client.Set(ctx, "k", "a value of about the size of a partner code", 0)
	b.Run("direct", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := r.Client.Get(ctx, "k").Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	for _, conns := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("coalesced-%d-conns", conns), func(b *testing.B) {
			co := redisx.NewCoalescer(r.Client, conns)
			defer co.Close()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var get *redis.StringCmd
					if err := co.Exec(ctx, func(p redis.Pipeliner) { get = p.Get(ctx, "k") }); err != nil || get.Err() != nil {
						b.Error(err, get.Err())
						return
					}
				}
			})
		})
	}
}
