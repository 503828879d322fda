package dev

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/localstack"
)

// localInfra starts the real servers: NATS in-process, redis-server as a
// child process with persistence so projections survive restarts.
type localInfra struct {
	// natsSync is JetStream's fsync interval; negative syncs every write.
	natsSync time.Duration
}

func (i localInfra) StartNATS(port int, storeDir string) (string, func() error, error) {
	srv, err := localstack.StartNATS(localstack.NATSOptions{Host: "127.0.0.1", Port: port, StoreDir: storeDir, SyncInterval: i.natsSync})
	if err != nil {
		return "", nil, err
	}
	stop := func() error {
		srv.Shutdown()
		done := make(chan struct{})
		go func() { srv.WaitForShutdown(); close(done) }()
		select {
		case <-done:
			return nil
		case <-time.After(15 * time.Second):
			return fmt.Errorf("nats did not shut down within 15s")
		}
	}
	return srv.ClientURL(), stop, nil
}

// quietRedisLog drops go-redis's own log lines: in this process Redis is
// only pinged at start and told to SHUTDOWN at stop, and the client's
// reconnect attempts after SHUTDOWN would print misleading dial errors.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func (i localInfra) StartRedis(ctx context.Context, port int, dir, logFile string) (string, func() error, error) {
	redis.SetLogger(quietRedisLog{})
	p, err := localstack.StartRedis(ctx, localstack.RedisOptions{Port: port, Dir: dir, Persist: true, LogFile: logFile})
	if err != nil {
		return "", nil, err
	}
	return p.URL(), p.Stop, nil
}
