// Package config reads service settings from flags whose defaults come from
// the environment: an explicit flag wins over BILAT_* variables, which win
// over built-in defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Common holds the settings every service shares.
type Common struct {
	NATSURL         string
	RedisURL        string
	GRPCAddr        string
	HTTPAddr        string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
}

// NewFlagSet returns a flag set that reports errors instead of exiting.
func NewFlagSet(service string) *flag.FlagSet {
	return flag.NewFlagSet(service, flag.ContinueOnError)
}

// Register declares the common flags; defaultGRPC and defaultHTTP are the
// service's own listen addresses.
func (c *Common) Register(fs *flag.FlagSet, defaultGRPC, defaultHTTP string) {
	fs.StringVar(&c.NATSURL, "nats-url", env("BILAT_NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL (env BILAT_NATS_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", env("BILAT_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL (env BILAT_REDIS_URL)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", env("BILAT_GRPC_ADDR", defaultGRPC), "gRPC listen address (env BILAT_GRPC_ADDR)")
	fs.StringVar(&c.HTTPAddr, "http-addr", env("BILAT_HTTP_ADDR", defaultHTTP), "metrics/pprof listen address, empty to disable (env BILAT_HTTP_ADDR)")
	fs.StringVar(&c.LogLevel, "log-level", env("BILAT_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env BILAT_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("BILAT_LOG_FORMAT", "text"), "log format: text or json (env BILAT_LOG_FORMAT)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", envDuration(fs, "BILAT_SHUTDOWN_TIMEOUT", 15*time.Second), "bound on graceful shutdown (env BILAT_SHUTDOWN_TIMEOUT)")
}

// String declares a string flag whose default is taken from env when set.
func String(fs *flag.FlagSet, name, envKey, def, usage string) *string {
	return fs.String(name, env(envKey, def), withEnv(usage, envKey))
}

// Int declares an int flag whose default is taken from env when set.
func Int(fs *flag.FlagSet, name, envKey string, def int, usage string) *int {
	return fs.Int(name, envInt(fs, envKey, def), withEnv(usage, envKey))
}

func envInt(fs *flag.FlagSet, key string, def int) int {
	s, ok := os.LookupEnv(key)
	if !ok || s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		recordErr(fs, fmt.Errorf("%s=%q: not an integer", key, s))
		return def
	}
	return n
}

// Duration declares a duration flag whose default is taken from env when set.
func Duration(fs *flag.FlagSet, name, envKey string, def time.Duration, usage string) *time.Duration {
	return fs.Duration(name, envDuration(fs, envKey, def), withEnv(usage, envKey))
}

// Bool declares a bool flag whose default is taken from env when set.
func Bool(fs *flag.FlagSet, name, envKey string, def bool, usage string) *bool {
	v := def
	if s, ok := os.LookupEnv(envKey); ok && s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			recordErr(fs, fmt.Errorf("%s=%q: not a boolean", envKey, s))
		} else {
			v = b
		}
	}
	return fs.Bool(name, v, withEnv(usage, envKey))
}

// Parse parses args, then checks that environment values given for the
// set's flags were valid: a malformed BILAT_* value must not be silently
// replaced by the default.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	err := errors.Join(envErrs[fs]...)
	delete(envErrs, fs)
	return err
}

// envErrs keeps malformed environment values per flag set until Parse
// reports them.
var (
	mu      sync.Mutex
	envErrs = map[*flag.FlagSet][]error{}
)

func recordErr(fs *flag.FlagSet, err error) {
	mu.Lock()
	defer mu.Unlock()
	envErrs[fs] = append(envErrs[fs], err)
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func envDuration(fs *flag.FlagSet, key string, def time.Duration) time.Duration {
	s, ok := os.LookupEnv(key)
	if !ok || s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		recordErr(fs, fmt.Errorf("%s=%q: %w", key, s, err))
		return def
	}
	return d
}

func withEnv(usage, key string) string {
	if key == "" {
		return usage
	}
	return usage + " (env " + key + ")"
}

// IntVar is Int storing into p.
func IntVar(fs *flag.FlagSet, p *int, name, envKey string, def int, usage string) {
	fs.IntVar(p, name, envInt(fs, envKey, def), withEnv(usage, envKey))
}

// DurationVar is Duration storing into p.
func DurationVar(fs *flag.FlagSet, p *time.Duration, name, envKey string, def time.Duration, usage string) {
	fs.DurationVar(p, name, envDuration(fs, envKey, def), withEnv(usage, envKey))
}
