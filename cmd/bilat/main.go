// Command bilat is the command-line client of Bilat: submit and import
// agreements and trade figures, query them, and run the stack locally.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"bilat.dev/cmd/bilat/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// After the first signal starts an orderly stop, restore the default
	// handling so a second Ctrl-C ends the tool at once (children of
	// `bilat dev` are then killed by the kernel's parent-death signal).
	go func() {
		<-ctx.Done()
		stop()
	}()
	root := cli.NewRoot(cli.Streams{
		In:     os.Stdin,
		Out:    os.Stdout,
		Err:    os.Stderr,
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	})
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee *cli.ExitError
		if !errors.As(err, &ee) || !ee.Printed {
			fmt.Fprintln(os.Stderr, "bilat:", err)
		}
	}
	os.Exit(cli.ExitCode(err))
}
