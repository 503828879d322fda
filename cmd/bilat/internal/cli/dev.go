package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bilat.dev/cmd/bilat/internal/client"
	"bilat.dev/cmd/bilat/internal/dev"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func newDevCmd(a *app) *cobra.Command {
	var (
		cfg      dev.Config
		load     []string
		noLoad   bool
		natsSync string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole stack on this machine (NATS, Redis, the four services) and load the data",
		Long: `dev brings up Bilat on this machine in the foreground until Ctrl-C:

  1. NATS with JetStream, in this process (store <data-dir>/nats), unless
     BILAT_NATS_URL names a server to use;
  2. redis-server with persistence (dir <data-dir>/redis), unless
     BILAT_REDIS_URL names one;
  3. ingest, enrichment, statistics and gateway from --bin-dir, each waited
     for until its gRPC health is SERVING; their output is prefixed with the
     service name and also kept in <data-dir>/logs/<service>.log;
  4. the data files of --load, imported as 'bilat import' does, then a wait
     until the gateway lists them.

Ctrl-C (or SIGTERM) stops the services in the order gateway, statistics,
enrichment, ingest (SIGTERM, then SIGKILL after --stop-timeout), then Redis,
then NATS, and exits 0. If a service dies, everything is stopped and the exit
code is 1. State persists in --data-dir: a restart keeps what was recorded,
and loading the same data again records nothing twice (it shows up as
duplicates).`,
		Example: `  bilat dev
  bilat dev --quiet-services
  bilat dev --no-load --data-dir /tmp/bilat
  BILAT_NATS_URL=nats://10.0.0.5:4222 bilat dev --load data/trade.ndjson`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sync, err := parseSync(natsSync)
			if err != nil {
				return usageErr(cmd, err)
			}
			cfg.NATSSync = sync
			cfg.Load = nil
			if !noLoad {
				for _, f := range load {
					if f = strings.TrimSpace(f); f != "" {
						cfg.Load = append(cfg.Load, f)
					}
				}
			}
			cfg.Services = dev.DefaultServices(a.ingest, a.gateway)
			cfg.Self = selfName(os.Args[0])
			cfg.Stdout = a.stdout
			cfg.Getenv = a.getenv
			cfg.LoadFile = func(ctx context.Context, ingest bilatv1.IngestServiceClient, file string) (*client.ImportResult, error) {
				// A bar would be torn by service output sharing the terminal.
				return runImport(ctx, ingest, file, nil, a.stderr, a.stderrTTY && cfg.QuietServices)
			}
			return dev.Run(cmd.Context(), cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.DataDir, "data-dir", ".run", "where NATS, Redis and the logs keep their state")
	fl.StringVar(&cfg.BinDir, "bin-dir", "bin", "directory holding the ingest, enrichment, statistics and gateway binaries")
	fl.IntVar(&cfg.NATSPort, "nats-port", 7222, "NATS client port (ignored when BILAT_NATS_URL is set)")
	fl.IntVar(&cfg.RedisPort, "redis-port", 7379, "Redis port (ignored when BILAT_REDIS_URL is set)")
	fl.StringSliceVar(&load, "load", []string{"data/agreements.ndjson", "data/trade.ndjson"}, "ndjson files to import once the services are up (comma-separated)")
	fl.BoolVar(&noLoad, "no-load", false, "do not import any data")
	fl.StringVar(&natsSync, "nats-sync", "always", "how often the local JetStream fsyncs: 'always' (every write: nothing acknowledged is lost on power failure), or an interval such as 1s or 2m (the NATS default, faster)")
	fl.BoolVar(&cfg.QuietServices, "quiet-services", false, "send service output only to <data-dir>/logs/<service>.log")
	fl.DurationVar(&cfg.StartTimeout, "start-timeout", 60*time.Second, "how long each service may take to report SERVING")
	fl.DurationVar(&cfg.StopTimeout, "stop-timeout", 15*time.Second, "how long each service may take to exit after SIGTERM before SIGKILL")
	fl.DurationVar(&cfg.LoadWait, "load-wait", 60*time.Second, "how long to wait for the gateway to list the loaded agreements")
	return cmd
}

// selfName is how the hints invoke this tool: the path it was started by
// when that has a directory ("bin/bilat"), else "bilat".
func selfName(arg0 string) string {
	if strings.ContainsRune(arg0, filepath.Separator) && !filepath.IsAbs(arg0) {
		return filepath.Clean(arg0)
	}
	if filepath.IsAbs(arg0) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, arg0); err == nil && !strings.HasPrefix(rel, "..") {
				return rel
			}
		}
	}
	return "bilat"
}

// parseSync reads --nats-sync: "always" or a positive duration.
func parseSync(s string) (time.Duration, error) {
	if strings.EqualFold(s, "always") {
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--nats-sync %q: want 'always' or a positive duration such as 1s", s)
	}
	return d, nil
}
