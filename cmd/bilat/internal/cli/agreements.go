package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// maxPages stops --all if a server kept handing out tokens forever.
const maxPages = 100000

func newAgreementsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "agreements",
		Aliases: []string{"agreement", "ag"},
		Short:   "List and show recorded agreements (gateway)",
	}
	cmd.AddCommand(newAgreementsListCmd(a), newAgreementsGetCmd(a), newAgreementsStatsCmd(a))
	return cmd
}

func newAgreementsListCmd(a *app) *cobra.Command {
	var f listFlags
	domains := format.EnumNames(bilatv1.Domain(0).Descriptor())
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List agreements, newest signing date first",
		Long: `List agreements recorded by the gateway, newest signing date first, one page
at a time (--all follows the page tokens to the end).

SIGNED shows the date at the precision the source gives ("2017", "2017-03",
"2017-03-14"), "~" when the source hedges it, "-" when undated. PARTNER shows
the resolved entity code, or the name as written with "?" when unresolved.
Undated agreements are left out when --from or --to is set.

Domains:
  ` + wrap(strings.Join(domains, ", ")+".", 76, "  "),
		Example: `  bilat agreements list --partner GE --from 2017
  bilat agreements list --domain science_technology --all
  bilat agreements list --partner RU-STA -o json
  bilat agreements list --limit 20 --page-token <token from the previous page>`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request()
			if err != nil {
				return usageErr(cmd, err)
			}
			conn, err := dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			gw := bilatv1.NewAgreementServiceClient(conn)

			all := &bilatv1.ListAgreementsResponse{}
			seen := map[string]bool{}
			for page := 0; ; page++ {
				ctx, cancel := a.callCtx(cmd.Context())
				resp, err := gw.ListAgreements(ctx, req)
				cancel()
				if err != nil {
					return a.gatewayErr(err)
				}
				all.Agreements = append(all.Agreements, resp.GetAgreements()...)
				all.TotalSize = resp.GetTotalSize()
				all.NextPageToken = resp.GetNextPageToken()
				if !f.all || all.NextPageToken == "" {
					break
				}
				if seen[all.NextPageToken] || page >= maxPages {
					return fmt.Errorf("gateway at %s repeats page token %q; stopping --all", a.gateway, all.NextPageToken)
				}
				seen[all.NextPageToken] = true
				req.PageToken = all.NextPageToken
			}
			if a.output == OutputJSON {
				return a.printProto(all)
			}
			rows := make([][]string, 0, len(all.GetAgreements()))
			for _, ag := range all.GetAgreements() {
				rows = append(rows, format.AgreementRow(ag))
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stdout, "no agreements match")
				return nil
			}
			if err := format.Table(a.stdout, format.AgreementHeader, rows); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\n%d of %d agreements", len(rows), all.GetTotalSize())
			if t := all.GetNextPageToken(); t != "" {
				fmt.Fprintf(a.stdout, "; next page: --page-token %s (or --all)", t)
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.partner, "partner", "", "partner entity code (GE, RU-STA, bloc.cis, ...)")
	fl.StringVar(&f.domain, "domain", "", "only this domain, e.g. science_technology")
	fl.IntVar(&f.from, "from", 0, "first signing year (inclusive)")
	fl.IntVar(&f.to, "to", 0, "last signing year (inclusive)")
	fl.IntVar(&f.limit, "limit", 0, fmt.Sprintf("page size, 1..%d (default: the server's, 50)", MaxPageSize))
	fl.StringVar(&f.pageToken, "page-token", "", "continue from a previous page's token (keep the other flags the same)")
	fl.BoolVar(&f.all, "all", false, "follow page tokens and print every match")
	_ = cmd.RegisterFlagCompletionFunc("domain", cobra.FixedCompletions(domains, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newAgreementsGetCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show one agreement with its parties, sources and attributes",
		Example: `  bilat agreements get ge-2017-mou-science
  bilat agreements get ge-2017-mou-science -o json`,
		Args: exactArgs(1, "one agreement ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewAgreementServiceClient(conn).GetAgreement(ctx, &bilatv1.GetAgreementRequest{Id: args[0]})
			if err != nil {
				if status.Code(err) == codes.NotFound {
					return fmt.Errorf("agreement %q not found (list ids with `bilat agreements list`)", args[0])
				}
				return a.gatewayErr(err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp.GetAgreement())
			}
			return format.AgreementDetail(a.stdout, resp.GetAgreement())
		},
	}
}
