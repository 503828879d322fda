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
	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"bilat.dev/cmd/bilat/internal/client"
	"bilat.dev/cmd/bilat/internal/format"
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
	if status.Code(err) == codes.InvalidArgument {
		return ExitInvalid
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

// Output formats (see format.Output).
const (
	OutputTable = format.OutputTable
	OutputJSON  = format.OutputJSON
	OutputCSV   = format.OutputCSV
)

// app holds the effective settings and the streams every command writes to.
type app struct {
	// Effective settings, resolved in PersistentPreRunE (flag > env >
	// config file > default); settings records where each came from.
	gateway  string // --server
	ingest   string
	token    string
	tlsCA    string
	timeout  time.Duration
	output   format.Output
	settings *settings

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
	a := &app{stdin: s.In, stdout: s.Out, stderr: s.Err, stderrTTY: s.ErrTTY, getenv: s.Getenv, output: OutputTable, timeout: DefaultTimeout}
	root := &cobra.Command{
		Use:   "bilat",
		Short: "Record and query a country's bilateral agreements and trade figures",
		Long: `bilat is the command-line client of Bilat: submit and import agreements and
trade figures, list and inspect what is recorded, and run the whole stack on
this machine with 'bilat dev'.

Connection settings come from flags, then environment variables, then the
config file (--config, BILAT_CONFIG, default ~/.config/bilat/config.yaml),
then defaults; 'bilat config show' prints the effective ones and where each
came from. Output: tables for people, -o json (protojson) or -o csv for
scripts. Shell completion: 'bilat completion bash|zsh|fish|powershell --help'.

Exit codes: 0 success, 1 failure (service unreachable, not found, I/O),
2 invalid input (bad flags, or the server rejected the request),
3 import finished with rejected lines.`,
		Example: `  bilat dev                                   # whole stack on this machine
  bilat agreements list --partner GE --from 2017
  bilat agreements get ge-2017-mou-science
  bilat trade series AF --flow turnover
  bilat import data/agreements.ndjson
  bilat submit agreement new.json
  bilat --server gw.example:7100 --token $TOKEN --tls-ca ca.pem trade rank --year 2018 -o csv`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.resolveSettings(cmd)
		},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageErr(cmd, err) })

	pf := root.PersistentFlags()
	// --gateway is the old name of --server; it keeps working as an alias.
	root.SetGlobalNormalizationFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "gateway" {
			name = "server"
		}
		return pflag.NormalizedName(name)
	})
	pf.String("server", DefaultServer, "gateway gRPC address for queries (env "+EnvServer+"; --gateway is an alias)")
	pf.String("ingest", DefaultIngest, "ingest gRPC address for submit and import (env "+EnvIngest+")")
	pf.String("token", "", "bearer token sent as 'authorization: Bearer <token>' on every call (env "+EnvToken+")")
	pf.String("tls-ca", "", "PEM file of the CA that signed the servers' certificates: use TLS (env "+EnvTLSCA+")")
	pf.Duration("timeout", DefaultTimeout, "deadline of each call (env "+EnvTimeout+"); import, dev and watches run without one")
	pf.StringP("output", "o", string(OutputTable), "output format: table, json or csv (env "+EnvOutput+")")
	pf.String("config", "", "config file (env "+EnvConfig+"; default $XDG_CONFIG_HOME/bilat/config.yaml or ~/.config/bilat/config.yaml)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(format.Outputs, cobra.ShellCompDirectiveNoFileComp))
	_ = root.MarkPersistentFlagFilename("tls-ca", "pem", "crt")
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")

	root.AddCommand(newSubmitCmd(a), newImportCmd(a), newAgreementsCmd(a), newTradeCmd(a), newDevCmd(a), newEntitiesCmd(a), newEnrichCmd(a))
	root.AddCommand(newProjectionsCmd(a), newConfigCmd(a), newPartnersCmd(a))
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

// dial opens a connection for one command with the token and TLS
// settings; the caller closes it.
func (a *app) dial(addr string) (*grpc.ClientConn, error) {
	return client.Dial(addr, client.Options{Token: a.token, CAFile: a.tlsCA})
}

// callCtx bounds one call by --timeout.
func (a *app) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, a.timeout)
}

// printProto writes a message as indented protojson: the -o json answer of
// a command that makes one call.
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

// printProtoLine writes a message as one line of compact protojson: the
// -o json answer of commands that page, stream or call several times
// (JSON lines, one document per page, change or call).
func (a *app) printProtoLine(m proto.Message) error {
	b, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	if _, err := fmt.Fprintln(a.stdout, string(b)); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// render prints a one-call answer: protojson of resp for -o json; else the
// items through the view, or the empty text when a table has no rows.
func render[T any](a *app, resp proto.Message, v format.View[T], items []T, empty string) error {
	switch {
	case a.output == OutputJSON:
		return a.printProto(resp)
	case len(items) == 0 && a.output == OutputTable:
		_, err := fmt.Fprintln(a.stdout, empty)
		return err
	}
	return format.Render(a.stdout, a.output, v, items)
}

// callErr wraps a call error with where the call went; InvalidArgument
// keeps exit code 2 through ExitCode.
func (a *app) callErr(service, addr, flag string, err error) error {
	return &client.CallError{Service: service, Addr: addr, Flag: flag, Timeout: a.timeout, Err: err}
}

// gatewayErr and ingestErr wrap call errors with where the call went.
func (a *app) gatewayErr(err error) error {
	return a.callErr("gateway", a.gateway, "--server", err)
}

func (a *app) ingestErr(err error) error {
	return a.callErr("ingest", a.ingest, "--ingest", err)
}
