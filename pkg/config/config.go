// Package config reads service settings from flags whose defaults come from
// the environment: an explicit flag wins over BILAT_* variables, which win
// over built-in defaults.
package config

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"bilat.dev/pkg/tlsx"
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

	// Edge: see docs/operations.md "Security and limits".
	TLSCert        string  // certificate chain (PEM) of every listener; with TLSKey enables TLS
	TLSKey         string  // private key (PEM) of TLSCert
	TLSCA          string  // CA bundle (PEM) outgoing gRPC clients trust; set enables TLS on them
	AuthTokensFile string  // bearer tokens and their scopes; empty disables auth
	RateLimit      float64 // calls per second per client; 0 disables
	RateBurst      int     // bucket size per client; 0 means ceil(RateLimit)
	MaxMsgBytes    int     // largest gRPC message sent or received
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
	fs.StringVar(&c.TLSCert, "tls-cert", env("BILAT_TLS_CERT", ""), "TLS certificate chain (PEM) for every listener; with --tls-key enables TLS (env BILAT_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", env("BILAT_TLS_KEY", ""), "TLS private key (PEM) of --tls-cert (env BILAT_TLS_KEY)")
	fs.StringVar(&c.TLSCA, "tls-ca", env("BILAT_TLS_CA", ""), "CA certificates (PEM) trusted by outgoing gRPC clients; set enables TLS on them (env BILAT_TLS_CA)")
	fs.StringVar(&c.AuthTokensFile, "auth-tokens-file", env("BILAT_AUTH_TOKENS_FILE", ""), "bearer token file (<client> <scope,scope> <sha256:hex|token> per line); empty disables auth (env BILAT_AUTH_TOKENS_FILE)")
	fs.Float64Var(&c.RateLimit, "rate-limit", envFloat(fs, "BILAT_RATE_LIMIT", 0), "gRPC calls per second per client, 0 for no limit (env BILAT_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", envInt(fs, "BILAT_RATE_BURST", 0), "calls a client may make at once before --rate-limit applies, 0 for ceil(rate) (env BILAT_RATE_BURST)")
	fs.IntVar(&c.MaxMsgBytes, "max-msg-bytes", envInt(fs, "BILAT_MAX_MSG_BYTES", 4<<20), "largest gRPC message received or sent (env BILAT_MAX_MSG_BYTES)")
}

// ServerTLS is the TLS configuration of the service's listeners (gRPC, ops
// HTTP and any other HTTP listener), or nil when TLS is off.
func (c *Common) ServerTLS() (*tls.Config, error) { return tlsx.Server(c.TLSCert, c.TLSKey) }

// ClientTLS is the TLS configuration of the service's outgoing gRPC
// clients, or nil when no CA is set.
func (c *Common) ClientTLS() (*tls.Config, error) { return tlsx.Client(c.TLSCA) }

func envFloat(fs *flag.FlagSet, key string, def float64) float64 {
	s, ok := os.LookupEnv(key)
	if !ok || s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		recordErr(fs, fmt.Errorf("%s=%q: not a number", key, s))
		return def
	}
	return f
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
