package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"bilat.dev/cmd/bilat/internal/client"
	"bilat.dev/cmd/bilat/internal/input"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// maxSubmitBytes bounds a single record read from a file or stdin.
const maxSubmitBytes = 16 << 20

func newSubmitCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit",
		Short: "Submit one agreement or trade figure to ingest",
		Long: `Submit one record through IngestService. The input is one protojson object: a
bare bilat.v1.Agreement / bilat.v1.TradeFigure, or an ImportRequest line
({"agreement": {...}} / {"tradeFigure": {...}}) such as a line of an import file.
Submitting the same record again is a no-op reported as a duplicate.`,
	}
	cmd.AddCommand(newSubmitKindCmd(a, input.KindAgreement), newSubmitKindCmd(a, input.KindTradeFigure))
	return cmd
}

func newSubmitKindCmd(a *app, kind input.Kind) *cobra.Command {
	var key string
	use, short, example := "agreement FILE|-", "Submit one agreement (bilat.v1.Agreement)",
		`  bilat submit agreement mou.json
  echo '{"title":"Memorandum on science","kind":"AGREEMENT_KIND_MEMORANDUM","signedOn":{"year":2017,"month":3},
        "parties":[{"entity":{"name":"Georgia"},"level":"PARTY_LEVEL_GOVERNMENT"}],"domains":["DOMAIN_SCIENCE_TECHNOLOGY"]}' |
    bilat submit agreement -
  head -1 data/agreements.ndjson | bilat submit agreement - --idempotency-key book-line-1`
	if kind == input.KindTradeFigure {
		use, short, example = "trade FILE|-", "Submit one trade figure (bilat.v1.TradeFigure)",
			`  bilat submit trade figure.json
  echo '{"reporter":{"name":"Belarus"},"partner":{"name":"Afghanistan"},"period":{"year":2018},
        "flow":"TRADE_FLOW_TURNOVER","value":{"currency":"USD","units":"42000000"}}' | bilat submit trade -`
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    exactArgs(1, "one FILE (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readInput(a.stdin, args[0])
			if err != nil {
				return err
			}
			msg, wrapperKey, err := input.DecodeSingle(data, kind)
			if err != nil {
				return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%s: %w", displayName(args[0]), err)}
			}
			if key == "" {
				key = wrapperKey
			}
			conn, err := a.dial(a.ingest)
			if err != nil {
				return err
			}
			defer conn.Close()
			ingest := bilatv1.NewIngestServiceClient(conn)
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()

			var res *bilatv1.SubmitResult
			switch m := msg.(type) {
			case *bilatv1.Agreement:
				var resp *bilatv1.SubmitAgreementResponse
				resp, err = ingest.SubmitAgreement(ctx, &bilatv1.SubmitAgreementRequest{Agreement: m, IdempotencyKey: key})
				res = resp.GetResult()
			case *bilatv1.TradeFigure:
				var resp *bilatv1.SubmitTradeFigureResponse
				resp, err = ingest.SubmitTradeFigure(ctx, &bilatv1.SubmitTradeFigureRequest{Figure: m, IdempotencyKey: key})
				res = resp.GetResult()
			}
			if err != nil {
				if client.IsInvalidArgument(err) {
					return a.invalid(kind, err)
				}
				return a.ingestErr(err)
			}
			return a.printSubmitResult(res)
		},
	}
	cmd.Flags().StringVar(&key, "idempotency-key", "", "key that makes a resubmission a no-op (default: the wrapper's key, else a hash of the content)")
	return cmd
}

// invalid prints the server's field violations, one per line, and exits 2.
func (a *app) invalid(kind input.Kind, err error) error {
	vs := client.Violations(err)
	if len(vs) == 0 {
		fmt.Fprintf(a.stderr, "bilat: invalid %s: %s\n", kind, status.Convert(err).Message())
	} else {
		fmt.Fprintf(a.stderr, "bilat: invalid %s:\n", kind)
	}
	for _, v := range vs {
		fmt.Fprintf(a.stderr, "  %s: %s\n", v.Field, v.Description)
	}
	return &ExitError{Code: ExitInvalid, Err: err, Printed: true}
}

func (a *app) printSubmitResult(res *bilatv1.SubmitResult) error {
	if a.output == OutputJSON {
		return a.printProto(res)
	}
	state := "recorded"
	if res.GetDuplicate() {
		state = "duplicate (already recorded)"
	}
	_, err := fmt.Fprintf(a.stdout, "event id:   %s\nrecord id:  %s\nstatus:     %s\n", res.GetEventId(), res.GetRecordId(), state)
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// readInput reads a whole file, or stdin for "-", bounded in size.
func readInput(stdin io.Reader, name string) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSubmitBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayName(name), err)
	}
	if len(data) > maxSubmitBytes {
		return nil, errors.New(displayName(name) + ": larger than 16 MiB; one record is never that big")
	}
	return data, nil
}

func displayName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}
