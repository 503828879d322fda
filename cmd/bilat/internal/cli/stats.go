package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// statisticsFlag registers --statistics on cmd and returns where it lands;
// its effective value (flag > BILAT_STATISTICS > config > default) is set
// before the command runs.
func statisticsFlag(a *app, cmd *cobra.Command, persistent bool) *string {
	addr := new(string)
	fs := cmd.Flags()
	if persistent {
		fs = cmd.PersistentFlags()
	}
	fs.StringVar(addr, "statistics", DefaultStatistics, "statistics service gRPC address (env "+EnvStatistics+")")
	return addr
}

func (a *app) statisticsErr(addr string, err error) error {
	return a.callErr("statistics", addr, "--statistics", err)
}

// tradeCall runs one TradeService call on the gateway and prints the
// answer (see render).
func tradeCall[R proto.Message, T any](a *app, cmd *cobra.Command, call func(context.Context, bilatv1.TradeServiceClient) (R, error),
	v format.View[T], items func(R) []T, empty string) error {
	conn, err := a.dial(a.gateway)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := a.callCtx(cmd.Context())
	defer cancel()
	resp, err := call(ctx, bilatv1.NewTradeServiceClient(conn))
	if err != nil {
		return a.gatewayErr(err)
	}
	return render(a, resp, v, items(resp), empty)
}

func newTradeBalanceCmd(a *app) *cobra.Command {
	var reporter, rollup string
	var from, to int
	cmd := &cobra.Command{
		Use:   "balance PARTNER",
		Short: "Best turnover, exports, imports and balance per period, deriving missing ones",
		Long: `Show, per reporter, period and scope, the best value of each flow: a
reported figure when there is one (exact beats approximate, a later source
beats an earlier one), else a value derived from two others (turnover =
exports + imports, balance = exports - imports), or a previous period's
value derived from a stated growth. Derived values end in "*"; "~" marks
hedged values. Amounts are USD; a figure in another currency without a USD
conversion shows its own currency and "no USD value" and is never mixed
with dollars. Sub-annual periods (2018-01..07) stay apart from years.

--rollup bloc sums a bloc's members as of each period's membership;
--rollup regions sums a country's regions and cities. Roll-ups never
include the partner's own figures and are labelled.`,
		Example: `  bilat trade balance AF
  bilat trade balance GE --reporter BY --from 2017
  bilat trade balance bloc.eaeu --rollup bloc --from 2014 --to 2015
  bilat trade balance RU --rollup regions -o json`,
		Args:              exactArgs(1, "one PARTNER (a code or a name)"),
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveArgs(cmd, args); err != nil {
				return err
			}
			ru, ok := map[string]bilatv1.Rollup{"": 0, "none": 0, "bloc": bilatv1.Rollup_ROLLUP_BLOC_MEMBERS,
				"regions": bilatv1.Rollup_ROLLUP_REGIONS}[rollup]
			if !ok {
				return usageErr(cmd, fmt.Errorf("--rollup must be none, bloc or regions, not %q", rollup))
			}
			req := &bilatv1.GetTradeBalanceRequest{Partner: args[0], Reporter: reporter, FromYear: int32(from), ToYear: int32(to), Rollup: ru}
			return tradeCall(a, cmd, func(ctx context.Context, c bilatv1.TradeServiceClient) (*bilatv1.GetTradeBalanceResponse, error) {
				return c.GetTradeBalance(ctx, req)
			}, format.BalanceView, (*bilatv1.GetTradeBalanceResponse).GetPeriods, "no trade figures for "+args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&reporter, "reporter", "", "only this reporter (default: every reporter, kept apart)")
	fl.IntVar(&from, "from", 0, "first year (inclusive)")
	fl.IntVar(&to, "to", 0, "last year (inclusive)")
	fl.StringVar(&rollup, "rollup", "none", "none, bloc (members as of each period) or regions")
	fixedCompletion(cmd, "rollup", "none", "bloc", "regions")
	return cmd
}

func newTradeGrowthCmd(a *app) *cobra.Command {
	var reporter, flow string
	var from, to int
	cmd := &cobra.Command{
		Use:   "growth PARTNER",
		Short: "Year-on-year growth, checked against stated growth, and CAGR",
		Long: `Show the growth of each flow against the same months of the previous year
(or the base the source names), computed from the best values, next to the
growth the source states; "!" flags a stated growth more than one
percentage point away from the computed one. Then the compound annual
growth rate (CAGR) between --from and --to (default: the first and last
years with annual values).`,
		Example: `  bilat trade growth AF
  bilat trade growth AF --flow turnover --from 2017 --to 2018
  bilat trade growth GE -o json`,
		Args:              exactArgs(1, "one PARTNER (a code or a name)"),
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveArgs(cmd, args); err != nil {
				return err
			}
			req := &bilatv1.GetTradeGrowthRequest{Partner: args[0], Reporter: reporter, FromYear: int32(from), ToYear: int32(to)}
			if flow != "" {
				f, err := format.ParseFlow(flow)
				if err != nil {
					return usageErr(cmd, err)
				}
				req.Flow = f
			}
			return tradeCall(a, cmd, func(ctx context.Context, c bilatv1.TradeServiceClient) (*bilatv1.GetTradeGrowthResponse, error) {
				return c.GetTradeGrowth(ctx, req)
			}, format.GrowthView, format.GrowthRows, "no growth computable for "+args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&reporter, "reporter", "", "only this reporter")
	fl.StringVar(&flow, "flow", "", "only this flow: turnover, exports, imports or balance")
	enumCompletion(cmd, "flow", bilatv1.TradeFlow(0).Descriptor())
	fl.IntVar(&from, "from", 0, "first year (inclusive; CAGR start)")
	fl.IntVar(&to, "to", 0, "last year (inclusive; CAGR end)")
	return cmd
}

func newTradeTargetCmd(a *app) *cobra.Command {
	var reporter string
	cmd := &cobra.Command{
		Use:   "target PARTNER",
		Short: "Progress toward a partner's trade targets and the yearly growth still needed",
		Long: `For every target figure (e.g. "$200 million by 2020"), show the latest actual
annual value at or before the target year (an unspecified-scope target is
met by goods and services, goods, or unspecified figures, the most specific
first), progress = actual / target, and the yearly growth still needed =
(target / actual)^(1 / years left) - 1.`,
		Example: `  bilat trade target GE
  bilat trade target GE -o json`,
		Args:              exactArgs(1, "one PARTNER (a code or a name)"),
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveArgs(cmd, args); err != nil {
				return err
			}
			req := &bilatv1.GetTargetProgressRequest{Partner: args[0], Reporter: reporter}
			return tradeCall(a, cmd, func(ctx context.Context, c bilatv1.TradeServiceClient) (*bilatv1.GetTargetProgressResponse, error) {
				return c.GetTargetProgress(ctx, req)
			}, format.TargetView, (*bilatv1.GetTargetProgressResponse).GetTargets, "no targets for "+args[0])
		},
	}
	cmd.Flags().StringVar(&reporter, "reporter", "", "only this reporter")
	return cmd
}

func newTradeRankCmd(a *app) *cobra.Command {
	var reporter, by string
	var year, limit int
	cmd := &cobra.Command{
		Use:   "rank --year YEAR [--by turnover|exports|imports|balance|growth]",
		Short: "Rank partners by a flow or by turnover growth for a year",
		Long: `Rank partners for one year by the reporter's turnover, exports, imports or
balance in USD (the most specific total scope each partner has), or by
year-on-year turnover growth. Partners whose value has no USD amount are
listed apart rather than compared with dollars.`,
		Example: `  bilat trade rank --year 2018
  bilat trade rank --year 2018 --by growth
  bilat trade rank --year 2017 --by exports --limit 5 -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			metric, ok := bilatv1.RankMetric_value["RANK_METRIC_"+strings.ToUpper(by)]
			if !ok || metric == 0 {
				return usageErr(cmd, fmt.Errorf("--by must be turnover, exports, imports, balance or growth, not %q", by))
			}
			req := &bilatv1.RankPartnersRequest{Year: int32(year), Metric: bilatv1.RankMetric(metric), Reporter: reporter, Limit: int32(limit)}
			return tradeCall(a, cmd, func(ctx context.Context, c bilatv1.TradeServiceClient) (*bilatv1.RankPartnersResponse, error) {
				return c.RankPartners(ctx, req)
			}, format.RankView, format.RankRows, fmt.Sprintf("no partner has figures for %d", year))
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&year, "year", 0, "the year to rank (required)")
	fl.StringVar(&by, "by", "turnover", "turnover, exports, imports, balance or growth")
	enumCompletion(cmd, "by", bilatv1.RankMetric(0).Descriptor())
	fl.StringVar(&reporter, "reporter", "", "reporter entity code (default BY, the country as a whole)")
	fl.IntVar(&limit, "limit", 0, "rows to show (default 20, at most 500)")
	return cmd
}

func newTradeConflictsCmd(a *app) *cobra.Command {
	var tolerance float64
	cmd := &cobra.Command{
		Use:   "conflicts PARTNER...",
		Short: "List periods whose sources disagree beyond a tolerance",
		Long: `List every reporter, period, flow and scope whose reported figures spread
more than the tolerance apart: (max - min) / max > tolerance (default 1%,
at least 5% when one of the figures is hedged). Figures in different
currencies without a USD value are not compared.`,
		Example: `  bilat trade conflicts AF GE
  bilat trade conflicts RU-STA --tolerance 10 -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(cmd, fmt.Errorf("%s needs at least one PARTNER code", cmd.CommandPath()))
			}
			return nil
		},
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveArgs(cmd, args); err != nil {
				return err
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			c := bilatv1.NewTradeServiceClient(conn)
			var rows []format.ConflictRow
			for _, p := range args {
				ctx, cancel := a.callCtx(cmd.Context())
				resp, err := c.GetTradeConflicts(ctx, &bilatv1.GetTradeConflictsRequest{Partner: p, TolerancePct: tolerance})
				cancel()
				if err != nil {
					return a.gatewayErr(fmt.Errorf("conflicts of %s: %w", p, err))
				}
				if a.output == OutputJSON {
					// JSON lines: one response per partner, in argument order.
					if err := a.printProtoLine(resp); err != nil {
						return err
					}
					continue
				}
				for _, cf := range resp.GetConflicts() {
					rows = append(rows, format.ConflictRow{Partner: p, Conflict: cf})
				}
			}
			if a.output == OutputJSON {
				return nil
			}
			if len(rows) == 0 && a.output == OutputTable {
				fmt.Fprintln(a.stdout, "no conflicts for "+strings.Join(args, ", "))
				return nil
			}
			return format.Render(a.stdout, a.output, format.ConflictsView, rows)
		},
	}
	cmd.Flags().Float64Var(&tolerance, "tolerance", 0, "allowed spread in percent (default 1; 5 when a figure is hedged)")
	return cmd
}

// callCtxFor bounds a call by d instead of --timeout (long admin calls).
func (a *app) callCtxFor(cmd *cobra.Command, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), d)
}
