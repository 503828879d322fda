// Package cli defines the bilat commands (cobra): flags, argument checks,
// and the mapping from flags to requests; the gRPC work is in package
// client, the rendering in package format, the local stack in package dev.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"bilat.dev/cmd/bilat/internal/client"
)

// Exit codes of the bilat tool.
const (
	ExitOK       = 0
	ExitFailure  = 1 // the call failed: server down, not found, I/O error
	ExitInvalid  = 2 // bad usage, or the server rejected the input as invalid
	ExitRejected = 3 // import finished but some lines were rejected
)

// ExitError carries the exit code for main. When Printed is set the
// command has already told the user everything; main prints nothing more.
type ExitError struct {
	Code    int
	Err     error
	Printed bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by Execute to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}

// usageErr marks bad flags or arguments (exit 2).
func usageErr(cmd *cobra.Command, err error) error {
	return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath())}
}

// exactArgs is cobra.ExactArgs with the usage exit code and a clearer text.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr(cmd, fmt.Errorf("%s needs %s (got %d arguments)", cmd.CommandPath(), names, len(args)))
		}
		return nil
	}
}

// Env names the environment variables the tool reads.
const (
	EnvGateway = "BILAT_GATEWAY"
	EnvIngest  = "BILAT_INGEST"
)

// Default addresses of the services the tool talks to.
const (
	DefaultGateway = "127.0.0.1:7100"
	DefaultIngest  = "127.0.0.1:7101"
)

// Output formats.
const (
	OutputTable = "table"
	OutputJSON  = "json"
)

// app holds the global flags and the streams every command writes to.
type app struct {
	gateway string
	ingest  string
	timeout time.Duration
	output  string

	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stderrTTY says whether stderr is a terminal (progress bars only then).
	stderrTTY bool
	getenv    func(string) string
}

// Streams are the process's standard streams; tests pass buffers.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	ErrTTY bool
	Getenv func(string) string
}

// NewRoot builds the bilat command tree.
func NewRoot(s Streams) *cobra.Command {
	if s.Getenv == nil {
		s.Getenv = os.Getenv
	}
	a := &app{stdin: s.In, stdout: s.Out, stderr: s.Err, stderrTTY: s.ErrTTY, getenv: s.Getenv}
	root := &cobra.Command{
		Use:   "bilat",
		Short: "Record and query a country's bilateral agreements and trade figures",
		Long: `bilat is the command-line client of Bilat: submit and import agreements and
trade figures, list and inspect what is recorded, and run the whole stack on
this machine with 'bilat dev'.

Exit codes: 0 success, 1 failure (service unreachable, not found, I/O),
2 invalid input (bad flags, or the server rejected the record),
3 import finished with rejected lines.`,
		Example: `  bilat dev                                   # whole stack on this machine
  bilat agreements list --partner GE --from 2017
  bilat agreements get ge-2017-mou-science
  bilat trade series AF --flow turnover
  bilat import data/agreements.ndjson
  bilat submit agreement new.json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != OutputTable && a.output != OutputJSON {
				return usageErr(cmd, fmt.Errorf("--output must be %q or %q, not %q", OutputTable, OutputJSON, a.output))
			}
			if a.timeout <= 0 {
				return usageErr(cmd, fmt.Errorf("--timeout must be positive, not %s", a.timeout))
			}
			return nil
		},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageErr(cmd, err) })

	pf := root.PersistentFlags()
	pf.StringVar(&a.gateway, "gateway", envOr(s.Getenv, EnvGateway, DefaultGateway), "gateway gRPC address for queries (env "+EnvGateway+")")
	pf.StringVar(&a.ingest, "ingest", envOr(s.Getenv, EnvIngest, DefaultIngest), "ingest gRPC address for submit and import (env "+EnvIngest+")")
	pf.DurationVar(&a.timeout, "timeout", 30*time.Second, "deadline of each call; import and dev run without one (Ctrl-C stops them)")
	pf.StringVarP(&a.output, "output", "o", OutputTable, "output format: table or json")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{OutputTable, OutputJSON}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(newSubmitCmd(a), newImportCmd(a), newAgreementsCmd(a), newTradeCmd(a), newDevCmd(a), newEntitiesCmd(a), newEnrichCmd(a))
	root.AddCommand(newProjectionsCmd(a))
	return root
}

// wrap breaks text into lines of at most width runes, indenting every line
// after the first, for long lists in help texts.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	col := 0
	for i, word := range strings.Fields(text) {
		if i > 0 {
			if col+1+len(word) > width {
				b.WriteString("\n" + indent)
				col = len(indent)
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(word)
		col += len(word)
	}
	return b.String()
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// dial opens a connection for one command; the caller closes it.
func dial(addr string) (*grpc.ClientConn, error) {
	return client.Dial(addr)
}

// callCtx bounds one call by --timeout.
func (a *app) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

// printProto writes a message as indented protojson.
func (a *app) printProto(m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	if _, err := fmt.Fprintln(a.stdout, string(b)); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// gatewayErr and ingestErr wrap call errors with where the call went.
func (a *app) gatewayErr(err error) error {
	return &client.CallError{Service: "gateway", Addr: a.gateway, Flag: "--gateway", Err: err}
}

func (a *app) ingestErr(err error) error {
	return &client.CallError{Service: "ingest", Addr: a.ingest, Flag: "--ingest", Err: err}
}
