package auth

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// ReloadOnSIGHUP re-reads the token file each time the process gets SIGHUP,
// until ctx ends, so operators add or revoke clients without a restart. A
// file that fails to parse is logged and the tokens in force stay. A nil
// guard just waits for ctx.
func (g *Guard) ReloadOnSIGHUP(ctx context.Context, log *slog.Logger) {
	if g == nil || g.path == "" {
		<-ctx.Done()
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := g.Reload(); err != nil {
				log.Error("auth tokens not reloaded; the previous tokens stay in force", "err", err)
				continue
			}
			log.Info("auth tokens reloaded", "tokens_file", g.path, "clients", g.tokens.Load().Len())
		}
	}
}
