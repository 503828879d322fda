package cli

import (
	"github.com/spf13/cobra"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func newTradeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trade",
		Short: "Query trade figures (gateway)",
	}
	cmd.AddCommand(newTradeSeriesCmd(a), newTradeBalanceCmd(a), newTradeGrowthCmd(a), newTradeTargetCmd(a), newTradeRankCmd(a), newTradeConflictsCmd(a), newTradeCompareCmd(a), newTradeAlertsCmd(a))
	return cmd
}

func newTradeSeriesCmd(a *app) *cobra.Command {
	var f seriesFlags
	flows := format.EnumNames(bilatv1.TradeFlow(0).Descriptor())
	cmd := &cobra.Command{
		Use:   "series PARTNER",
		Short: "Show a partner's trade figures by period and flow",
		Long: `Show every trade figure recorded for a partner, ordered by period and flow.
Each figure is its own row, so figures from different sources for the same
period stay visible.

PERIOD is a year ("2018") or a month range inside it ("2018-01..07"). VALUE is
the amount in the source's currency, "~" when the source hedges it ("almost",
"about"), "(target)" for goals. GROWTH is the growth the source states, with
its base period.`,
		Example: `  bilat trade series AF
  bilat trade series GE --flow turnover --from 2015
  bilat trade series RU-STA --reporter BY -o json`,
		Args:              exactArgs(1, "one PARTNER (a code or a name)"),
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveArgs(cmd, args); err != nil {
				return err
			}
			req, err := f.request(args[0])
			if err != nil {
				return usageErr(cmd, err)
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewTradeServiceClient(conn).GetTradeSeries(ctx, req)
			if err != nil {
				return a.gatewayErr(err)
			}
			return render(a, resp, format.TradeSeriesView, format.FigureRows(resp.GetPoints()), "no trade figures for "+req.GetPartner())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.reporter, "reporter", "", "only figures reported by this entity code (default: every reporter)")
	fl.StringVar(&f.flow, "flow", "", "only this flow: turnover, exports, imports or balance")
	fl.IntVar(&f.from, "from", 0, "first year (inclusive)")
	fl.IntVar(&f.to, "to", 0, "last year (inclusive)")
	_ = cmd.RegisterFlagCompletionFunc("flow", cobra.FixedCompletions(flows, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("reporter", a.completePartners)
	return cmd
}
