package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"bilat.dev/cmd/bilat/internal/client"
	"bilat.dev/cmd/bilat/internal/input"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func newImportCmd(a *app) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "import FILE.ndjson|-",
		Short: "Stream an ndjson file of agreements and trade figures to ingest",
		Long: `Import streams a file with one protojson bilat.v1.ImportRequest per line
({"agreement": {...}} or {"tradeFigure": {...}}, optional "idempotencyKey")
through IngestService.Import, sending each line as it is read.

Lines that do not parse are rejected here, with their line number, and not
sent. Blank lines are skipped. Items already recorded come back as duplicates,
so importing the same file again is safe.

A progress bar is drawn on stderr when it is a terminal (a spinner for stdin);
--quiet turns it off. Exit code 0 when nothing was rejected, 3 when some lines
were rejected.`,
		Example: `  bilat import data/agreements.ndjson
  bilat import data/trade.ndjson -o json
  grep '"GE"' data/agreements.ndjson | bilat import - --quiet`,
		Args: exactArgs(1, "one FILE.ndjson (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := a.dial(a.ingest)
			if err != nil {
				return err
			}
			defer conn.Close()
			res, err := runImport(cmd.Context(), bilatv1.NewIngestServiceClient(conn), args[0], a.stdin, a.stderr, a.stderrTTY && !quiet)
			if err != nil {
				if client.IsRPC(err) && status.Code(err) != codes.Canceled {
					return fmt.Errorf("%w\n(importing the file again is safe: items already recorded come back as duplicates)", a.ingestErr(err))
				}
				return a.ingestErr(err)
			}
			if err := a.printImportResult(res); err != nil {
				return err
			}
			if res.Rejected > 0 {
				return &ExitError{Code: ExitRejected, Err: fmt.Errorf("%d lines rejected", res.Rejected), Printed: true}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}

// runImport opens the file (or stdin for "-"), draws the progress bar when
// asked, and streams it. `bilat dev` loads its data through this too.
func runImport(ctx context.Context, ingest bilatv1.IngestServiceClient, name string, stdin io.Reader, stderr io.Writer, showProgress bool) (*client.ImportResult, error) {
	var r io.Reader = stdin
	total := int64(-1) // unknown: spinner
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open import file: %w", err)
		}
		defer f.Close()
		if showProgress {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				n, err := input.CountLines(f)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return nil, fmt.Errorf("%s: rewind after counting lines: %w", name, err)
				}
				total = int64(n)
			}
		}
		r = f
	}
	var progress client.Progress
	if showProgress {
		bar := newBar(stderr, total, "importing "+displayName(name))
		defer func() { _ = bar.Finish() }()
		progress = bar
	}
	open := func(ctx context.Context) (client.ImportStream, error) { return ingest.Import(ctx) }
	res, err := client.Import(ctx, open, r, progress)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", displayName(name), err)
	}
	return res, nil
}

// newBar draws lines sent / total lines, or a spinner when total is unknown.
func newBar(w io.Writer, total int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("lines"),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)
}

// printImportResult prints the counts and each rejection at its line.
func (a *app) printImportResult(res *client.ImportResult) error {
	if a.output == OutputJSON {
		if res.Rejections == nil {
			res.Rejections = []client.Rejection{}
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	return writeImportSummary(a.stdout, res)
}

func writeImportSummary(w io.Writer, res *client.ImportResult) error {
	_, err := fmt.Fprintf(w, "accepted:   %d\nduplicates: %d\nrejected:   %d\n", res.Accepted, res.Duplicates, res.Rejected)
	for _, r := range res.Rejections {
		if err != nil {
			break
		}
		_, err = fmt.Fprintln(w, r.String())
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
