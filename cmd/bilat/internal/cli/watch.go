package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"bilat.dev/cmd/bilat/internal/client"
	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func newAgreementsHistoryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "history ID",
		Aliases: []string{"revisions"},
		Short:   "Every recorded version of one agreement, oldest first, with its retraction",
		Example: `  bilat agreements history belarus-georgia-treaty-basis-cooperation-2018
  bilat agreements history ge-2017-mou-science -o json`,
		Args: exactArgs(1, "one agreement ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewAgreementServiceClient(conn).ListRevisions(ctx, &bilatv1.ListRevisionsRequest{Id: args[0]})
			if err != nil {
				if status.Code(err) == codes.NotFound {
					return fmt.Errorf("agreement %q not found (list ids with `bilat agreements list`)", args[0])
				}
				return a.gatewayErr(err)
			}
			return render(a, resp, format.RevisionsView, resp.GetRevisions(), "no revisions of "+args[0])
		},
	}
}

// waitReady checks, within --timeout, that the gateway can be reached
// before a watch starts; afterwards the watch reconnects by itself.
func (a *app) waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	cctx, cancel := a.callCtx(ctx)
	defer cancel()
	if err := client.WaitReady(cctx, conn); err != nil {
		return a.gatewayErr(err)
	}
	return nil
}

// Reconnect backoff of the watches.
const (
	watchRetryMin = 500 * time.Millisecond
	watchRetryMax = 30 * time.Second
)

// watchLoop runs a server stream until ctx ends, reopening it after
// Unavailable (the gateway restarting, the network dropping) from the last
// position received, so nothing is missed and nothing is seen twice. open
// starts a stream after a position; recv returns the next message's
// position after printing it. Any other error ends the watch.
func (a *app) watchLoop(ctx context.Context, what string, position string,
	run func(ctx context.Context, after string, got func(pos string)) error) error {
	if a.stderrTTY {
		// Only for people at a terminal: a quiet watch looks like a hang.
		from := ""
		if position != "" {
			from = " after position " + position
		}
		fmt.Fprintf(a.stderr, "bilat: %s: waiting for what is recorded%s; Ctrl-C stops\n", what, from)
	}
	delay := watchRetryMin
	for {
		received := false
		err := run(ctx, position, func(pos string) {
			position = pos
			received = true
		})
		if ctx.Err() != nil {
			return nil // Ctrl-C: a normal end of a watch
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = status.Error(codes.Unavailable, "the server ended the stream")
		}
		if status.Code(err) != codes.Unavailable {
			return a.gatewayErr(err)
		}
		if received {
			delay = watchRetryMin
		}
		resume := "the start position"
		if position != "" {
			resume = "position " + position
		}
		fmt.Fprintf(a.stderr, "bilat: %s: %s; reconnecting in %s from %s\n", what, a.gatewayErr(err), delay, resume)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, watchRetryMax)
	}
}

var watchStarts = map[string]bilatv1.WatchStart{"now": bilatv1.WatchStart_WATCH_START_NOW, "beginning": bilatv1.WatchStart_WATCH_START_BEGINNING}

func parseStart(s string) (bilatv1.WatchStart, error) {
	st, ok := watchStarts[s]
	if !ok {
		return 0, fmt.Errorf("--start must be now or beginning, not %q", s)
	}
	return st, nil
}

func newAgreementsWatchCmd(a *app) *cobra.Command {
	var f filterFlags
	var from, start string
	cmd := &cobra.Command{
		Use:   "watch [filters]",
		Short: "Print every agreement change matching the filters as it is recorded",
		Long: `Subscribe to agreement changes (recorded, revised, retracted) matching the
same filters as 'agreements list', and print each as it arrives until
Ctrl-C. The POSITION column (the "position" field with -o json, one JSON
line per change) is where to resume: pass the last one to --from-position
and the watch continues with the next change, missing nothing and repeating
nothing. When the connection drops (Unavailable), the tool reconnects by
itself from the last position it printed, with backoff, saying so on stderr.
--timeout does not apply to a watch.`,
		Example: `  bilat agreements watch
  bilat agreements watch --partner GE --domain trade
  bilat agreements watch --start beginning -o json | jq .agreement.title
  bilat agreements watch --from-position 1234`,
		Args: exactArgs(0, "no arguments (filters are flags)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			flt, err := f.filter()
			if err != nil {
				return usageErr(cmd, err)
			}
			st, err := parseStart(start)
			if err != nil {
				return usageErr(cmd, err)
			}
			if err := a.resolvePartners(cmd.Context(), &flt.Partner, &flt.Bloc); err != nil {
				return err
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			if err := a.waitReady(cmd.Context(), conn); err != nil {
				return err
			}
			gw := bilatv1.NewAgreementServiceClient(conn)
			rw := format.NewRowWriter(a.stdout, a.output, format.ChangesView.Header(a.output)).MinWidths(format.ChangesView.Widths())
			return a.watchLoop(cmd.Context(), "agreements watch", strings.TrimSpace(from), func(ctx context.Context, after string, got func(string)) error {
				stream, err := gw.WatchAgreements(ctx, &bilatv1.WatchAgreementsRequest{Filter: flt, AfterPosition: after, Start: st})
				if err != nil {
					return err
				}
				return printStream(a, rw, format.ChangesView, stream.Recv, got)
			})
		},
	}
	f.register(a, cmd)
	cmd.Flags().StringVar(&from, "from-position", "", "resume after this position (printed with every change)")
	cmd.Flags().StringVar(&start, "start", "now", "without --from-position: now (new changes only) or beginning (every change held)")
	fixedCompletion(cmd, "start", "now", "beginning")
	return cmd
}

func newTradeCompareCmd(a *app) *cobra.Command {
	var reporter, flow string
	var from, to int
	cmd := &cobra.Command{
		Use:   "compare PARTNER PARTNER...",
		Short: "Several partners' trade side by side: a flow per year, shares, year-on-year change, CAGR",
		Long: `Compare two to twenty partners: for each calendar year the USD value of the
flow (turnover unless --flow), its share of the compared partners' total and
its change from the year before ("value (share, change)"; "*" derived), then
each partner's CAGR. Partners are codes or names. -o csv gives the plain USD
amounts per year and partner.`,
		Example: `  bilat trade compare GE AF CN
  bilat trade compare Georgia Afghanistan --flow exports --from 2015
  bilat trade compare GE AF -o csv`,
		Args:              partnerArgs(2),
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &bilatv1.CompareTradeRequest{Reporter: reporter}
			if flow != "" {
				fl, err := format.ParseFlow(flow)
				if err != nil {
					return usageErr(cmd, fmt.Errorf("--flow: %w", err))
				}
				req.Flow = fl
			}
			var err error
			if req.FromYear, req.ToYear, err = yearRange(from, to); err != nil {
				return usageErr(cmd, err)
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			partners, err := partnerResolver{a: a, conn: conn}.resolveAll(cmd.Context(), args)
			if err != nil {
				return err
			}
			req.Partners = partners
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewTradeServiceClient(conn).CompareTrade(ctx, req)
			if err != nil {
				return a.gatewayErr(err)
			}
			v := format.CompareView(partners, resp.GetPartners())
			if a.output != OutputTable {
				return render(a, resp, v, resp.GetYears(), "")
			}
			if len(resp.GetYears()) == 0 {
				fmt.Fprintln(a.stdout, "no yearly values for "+strings.Join(partners, ", "))
			} else {
				fmt.Fprintf(a.stdout, "%s, USD (share of the compared total, change from the year before):\n", format.Or(format.EnumName(resp.GetFlow()), "turnover"))
				if err := format.Render(a.stdout, OutputTable, v, resp.GetYears()); err != nil {
					return err
				}
			}
			for _, p := range resp.GetPartners() {
				if len(p.GetCagr()) == 0 {
					continue
				}
				fmt.Fprintf(a.stdout, "\n%s %s CAGR:\n", p.GetPartner(), p.GetName())
				if err := format.Render(a.stdout, OutputTable, format.CagrView, p.GetCagr()); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&reporter, "reporter", "", "only this reporter (default: every reporter)")
	fl.StringVar(&flow, "flow", "", "the flow compared: turnover (default), exports, imports or balance")
	fl.IntVar(&from, "from", 0, "first year (inclusive)")
	fl.IntVar(&to, "to", 0, "last year (inclusive)")
	enumCompletion(cmd, "flow", bilatv1.TradeFlow(0).Descriptor())
	return cmd
}

func newTradeAlertsCmd(a *app) *cobra.Command {
	var reporter, flow, from, start string
	var threshold float64
	cmd := &cobra.Command{
		Use:   "alerts --threshold PCT [PARTNER...]",
		Short: "Print an alert whenever a new figure moves a partner's year-on-year change beyond a threshold",
		Long: `Subscribe to trade alerts: each time a recorded figure makes a partner's
year-on-year change of the flow (turnover unless --flow) at least
--threshold percent either way, print the partner, period, value, the value
a year earlier and the change, until Ctrl-C. Without partners, every partner
is watched. POSITION (the "position" field with -o json, one JSON line per
alert) is where to resume with --from-position; a dropped connection is
reopened from the last position by itself.`,
		Example: `  bilat trade alerts --threshold 10
  bilat trade alerts --threshold 25 GE AF --flow exports
  bilat trade alerts --threshold 10 --start beginning -o json`,
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			if threshold <= 0 {
				return usageErr(cmd, fmt.Errorf("--threshold must be a percentage above 0, not %g", threshold))
			}
			st, err := parseStart(start)
			if err != nil {
				return usageErr(cmd, err)
			}
			req := &bilatv1.WatchTradeAlertsRequest{Reporter: reporter, ThresholdPct: threshold, Start: st}
			if flow != "" {
				fl, err := format.ParseFlow(flow)
				if err != nil {
					return usageErr(cmd, fmt.Errorf("--flow: %w", err))
				}
				req.Flow = fl
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			partners, err := partnerResolver{a: a, conn: conn}.resolveAll(cmd.Context(), args)
			if err != nil {
				return err
			}
			req.Partners = partners
			if err := a.waitReady(cmd.Context(), conn); err != nil {
				return err
			}
			tc := bilatv1.NewTradeServiceClient(conn)
			rw := format.NewRowWriter(a.stdout, a.output, format.AlertsView.Header(a.output)).MinWidths(format.AlertsView.Widths())
			return a.watchLoop(cmd.Context(), "trade alerts", strings.TrimSpace(from), func(ctx context.Context, after string, got func(string)) error {
				r := proto.CloneOf(req)
				r.AfterPosition = after
				stream, err := tc.WatchTradeAlerts(ctx, r)
				if err != nil {
					return err
				}
				return printStream(a, rw, format.AlertsView, stream.Recv, got)
			})
		},
	}
	fl := cmd.Flags()
	fl.Float64Var(&threshold, "threshold", 0, "fire at an absolute year-on-year change of at least this many percent (required)")
	fl.StringVar(&reporter, "reporter", "", "only figures of this reporter")
	fl.StringVar(&flow, "flow", "", "the flow watched: turnover (default), exports, imports or balance")
	fl.StringVar(&from, "from-position", "", "resume after this position (printed with every alert)")
	fl.StringVar(&start, "start", "now", "without --from-position: now or beginning")
	enumCompletion(cmd, "flow", bilatv1.TradeFlow(0).Descriptor())
	fixedCompletion(cmd, "start", "now", "beginning")
	return cmd
}

// positioned is a watch message: it carries the position to resume after.
type positioned interface {
	proto.Message
	GetPosition() string
}

// printStream prints each message of a watch as it arrives (a table row or
// a JSON line) and reports its position, until the stream ends.
func printStream[T positioned](a *app, rw *format.RowWriter, v format.View[T], recv func() (T, error), got func(string)) error {
	for {
		m, err := recv()
		if err != nil {
			return err
		}
		if a.output == OutputJSON {
			err = a.printProtoLine(m)
		} else {
			err = rw.Write(v.Rows(a.output, []T{m}))
		}
		if err != nil {
			return status.Error(codes.Aborted, err.Error()) // stdout gone: stop, do not retry
		}
		got(m.GetPosition())
	}
}
