package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func newProjectionsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "Rebuild the Redis projections from the streams, or digest them (statistics, admin)",
	}
	addr := statisticsFlag(a, cmd, true)
	cmd.AddCommand(newProjectionsRebuildCmd(a, addr), newProjectionsChecksumCmd(a, addr))
	return cmd
}

func newProjectionsRebuildCmd(a *app, addr *string) *cobra.Command {
	var timeout time.Duration
	return withTimeout(&cobra.Command{
		Use:   "rebuild",
		Short: "Drop every projection and replay BILAT_ENRICHED from the start",
		Long: `Ask the statistics service to stop its consumer, delete every projection key
(everything under the key prefix), delete and recreate its durable consumer
from the start of BILAT_ENRICHED, and return once the replay caught up. It
prints the checksum of the rebuilt projections: it equals the one
'bilat projections checksum' printed before, as every stored value depends
only on the events. Reads answer from partial projections meanwhile.`,
		Example: `  bilat projections checksum && bilat projections rebuild
  bilat projections rebuild --statistics 10.0.0.5:7103 -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := a.dial(*addr)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := a.callCtxFor(cmd, timeout)
			defer cancel()
			resp, err := bilatv1.NewStatisticsServiceClient(conn).RebuildProjections(ctx, &bilatv1.RebuildProjectionsRequest{})
			if err != nil {
				return a.statisticsErr(*addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			if a.output == OutputCSV {
				return format.WriteFields(a.stdout, OutputCSV, []format.Field{{Name: "deleted_keys", Value: strconv.FormatInt(resp.GetDeletedKeys(), 10)},
					{Name: "replayed", Value: strconv.FormatUint(resp.GetReplayed(), 10)}, {Name: "checksum", Value: resp.GetChecksum()},
					{Name: "keys", Value: strconv.FormatInt(resp.GetKeys(), 10)}})
			}
			fmt.Fprintf(a.stdout, "deleted %d keys, replayed %d messages\n%s  %d keys\n",
				resp.GetDeletedKeys(), resp.GetReplayed(), resp.GetChecksum(), resp.GetKeys())
			return nil
		},
	}, &timeout, 10*time.Minute)
}

// withTimeout gives a long-running admin command its own --wait deadline.
func withTimeout(cmd *cobra.Command, d *time.Duration, def time.Duration) *cobra.Command {
	cmd.Flags().DurationVar(d, "wait", def, "how long to wait for the replay to catch up")
	return cmd
}

func newProjectionsChecksumCmd(a *app, addr *string) *cobra.Command {
	return &cobra.Command{
		Use:   "checksum",
		Short: "Print a digest of every projection key",
		Long: `Print the SHA-256 over every projection key in key order with its canonical
content (hash fields sorted, sorted sets with scores, sets sorted, strings),
and the number of keys. Live and rebuilt projections have the same digest.`,
		Example: `  bilat projections checksum
  bilat projections checksum -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := a.dial(*addr)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewStatisticsServiceClient(conn).GetProjectionsChecksum(ctx, &bilatv1.GetProjectionsChecksumRequest{})
			if err != nil {
				return a.statisticsErr(*addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			if a.output == OutputCSV {
				return format.WriteFields(a.stdout, OutputCSV, []format.Field{{Name: "checksum", Value: resp.GetChecksum()},
					{Name: "keys", Value: strconv.FormatInt(resp.GetKeys(), 10)}})
			}
			fmt.Fprintf(a.stdout, "%s  %d keys\n", resp.GetChecksum(), resp.GetKeys())
			return nil
		},
	}
}

func newAgreementsStatsCmd(a *app) *cobra.Command {
	var partner string
	var from, to, top int
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Count agreements by domain, level, status and kind per year, and the top partners (statistics)",
		Long: `Count agreements per signing year by domain, party level, status and kind,
for one partner or (without --partner) every partner summed, and list the
partners with the most agreements in the range. An agreement counts once
per dimension value (an agreement in two domains counts in both; its
parties' distinct levels each count once); a revision moves its counts to
the new version, a retraction removes them; a partial date counts in the
year it names. Year 0 is undated (left out when --from or --to is set).`,
		Example: `  bilat agreements stats
  bilat agreements stats --partner GE --from 2015
  bilat agreements stats --from 2017 --to 2019 --top 3 -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.resolvePartners(cmd.Context(), &partner); err != nil {
				return err
			}
			addr := cmd.Flag("statistics").Value.String()
			conn, err := a.dial(addr)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewStatisticsServiceClient(conn).GetAgreementStats(ctx, &bilatv1.GetAgreementStatsRequest{
				Partner: partner, FromYear: int32(from), ToYear: int32(to), Top: int32(top)})
			if err != nil {
				return a.statisticsErr(addr, err)
			}
			switch a.output {
			case OutputJSON:
				return a.printProto(resp)
			case OutputCSV:
				// Long form: dimension,value,year,count; the top partners
				// follow as dimension "top_partner" without a year.
				rows := format.StatCountsView.Rows(OutputCSV, resp.GetCounts())
				for _, p := range resp.GetTopPartners() {
					rows = append(rows, []string{"top_partner", p.GetPartner(), "", strconv.FormatInt(p.GetAgreements(), 10)})
				}
				rw := format.NewRowWriter(a.stdout, OutputCSV, format.StatCountsView.Header(OutputCSV))
				return rw.Write(rows)
			}
			return printAgreementStats(a, resp)
		},
	}
	statisticsFlag(a, cmd, false)
	fl := cmd.Flags()
	fl.StringVar(&partner, "partner", "", "one partner's counts, a code or a name (default: every partner summed)")
	_ = cmd.RegisterFlagCompletionFunc("partner", a.completePartners)
	fl.IntVar(&from, "from", 0, "first signing year (inclusive)")
	fl.IntVar(&to, "to", 0, "last signing year (inclusive)")
	fl.IntVar(&top, "top", 0, "how many top partners to list (default 10, at most 100)")
	return cmd
}

// printAgreementStats prints one table per dimension (rows: values,
// columns: years) and the top partners.
func printAgreementStats(a *app, resp *bilatv1.GetAgreementStatsResponse) error {
	if len(resp.GetCounts()) == 0 {
		fmt.Fprintln(a.stdout, "no agreements")
		return nil
	}
	var years []int32
	cells := map[string]map[string]map[int32]int64{}
	for _, c := range resp.GetCounts() {
		if !slices.Contains(years, c.GetYear()) {
			years = append(years, c.GetYear())
		}
		if cells[c.GetDimension()] == nil {
			cells[c.GetDimension()] = map[string]map[int32]int64{}
		}
		if cells[c.GetDimension()][c.GetValue()] == nil {
			cells[c.GetDimension()][c.GetValue()] = map[int32]int64{}
		}
		cells[c.GetDimension()][c.GetValue()][c.GetYear()] += c.GetCount()
	}
	slices.Sort(years)
	for _, dim := range []string{"domain", "level", "status", "kind"} {
		vals := cells[dim]
		if len(vals) == 0 {
			continue
		}
		header := []string{strings.ToUpper(dim)}
		for _, y := range years {
			header = append(header, format.Or(map[bool]string{true: "undated"}[y == 0], strconv.Itoa(int(y))))
		}
		header = append(header, "TOTAL")
		var names []string
		for v := range vals {
			names = append(names, v)
		}
		slices.Sort(names)
		var rows [][]string
		for _, v := range names {
			row := []string{v}
			var sum int64
			for _, y := range years {
				row = append(row, strconv.FormatInt(vals[v][y], 10))
				sum += vals[v][y]
			}
			rows = append(rows, append(row, strconv.FormatInt(sum, 10)))
		}
		if err := format.Table(a.stdout, header, rows); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout)
	}
	fmt.Fprintf(a.stdout, "%d agreements\n", resp.GetTotalAgreements())
	if len(resp.GetTopPartners()) > 0 {
		fmt.Fprintln(a.stdout)
		return format.Render(a.stdout, OutputTable, format.TopPartnersView, format.Rank(resp.GetTopPartners()))
	}
	return nil
}
