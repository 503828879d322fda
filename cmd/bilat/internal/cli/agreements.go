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
	cmd.AddCommand(newAgreementsListCmd(a), newAgreementsGetCmd(a), newAgreementsStatsCmd(a), newAgreementsHistoryCmd(a), newAgreementsWatchCmd(a))
	return cmd
}

func newAgreementsListCmd(a *app) *cobra.Command {
	var f listFlags
	domains := format.EnumNames(bilatv1.Domain(0).Descriptor())
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List agreements matching a filter, newest signing date first",
		Long: `List agreements recorded by the gateway, newest signing date first (--sort
oldest, or relevance to --query words). Every filter flag given must match.
Pages are printed as they arrive; --all follows the page tokens to the end,
--limit N stops after N agreements. With -o json each page is one line of
protojson (a ListAgreementsResponse: JSON lines); -o csv writes one header
and every row.

SIGNED shows the date at the precision the source gives ("2017", "2017-03",
"2017-03-14"), "~" when the source hedges it, "-" when undated. PARTNER shows
the resolved entity code, or the name as written with "?" when unresolved.
--from/--to take partial dates; an agreement dated "2017" matches --from
2017-06. Undated agreements are left out when --from or --to is set.
--partner takes a code or a name ("Georgia").

Domains:
  ` + wrap(strings.Join(domains, ", ")+".", 76, "  "),
		Example: `  bilat agreements list --partner GE --from 2017
  bilat agreements list --partner Russia --with-subentities --domain science_technology --all
  bilat agreements list --bloc bloc.eaeu --level government --from 2015-03 --to 2018
  bilat agreements list --query "economic cooperation" --sort relevance --limit 5
  bilat agreements list --partner RU-STA -o csv --all > stavropol.csv`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request()
			if err != nil {
				return usageErr(cmd, err)
			}
			if err := a.resolvePartners(cmd.Context(), &req.Filter.Partner, &req.Filter.Bloc); err != nil {
				return err
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			return a.listAgreements(cmd, bilatv1.NewAgreementServiceClient(conn), req, f.all, f.limit)
		},
	}
	f.register(a, cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.sort, "sort", "", "date (newest first, the default), oldest, or relevance (needs --query)")
	fl.IntVar(&f.pageSize, "page-size", 0, fmt.Sprintf("agreements per page, 1..%d (default: the server's, 50)", MaxPageSize))
	fl.IntVar(&f.limit, "limit", 0, "stop after this many agreements (following pages as needed)")
	fl.StringVar(&f.pageToken, "page-token", "", "continue from a previous page's token (keep the other flags the same)")
	fl.BoolVar(&f.all, "all", false, "follow page tokens and print every match")
	fixedCompletion(cmd, "sort", "date", "oldest", "relevance")
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
			conn, err := a.dial(a.gateway)
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
			return format.WriteAgreement(a.stdout, a.output, resp.GetAgreement())
		},
	}
}

// listAgreements prints the listing page by page as the pages arrive: the
// table header once, then each page; -o json prints each page's response
// as one line (JSON lines). With all it follows next_page_token to the end.
func (a *app) listAgreements(cmd *cobra.Command, gw bilatv1.AgreementServiceClient, req *bilatv1.ListAgreementsRequest, all bool, limit int) error {
	rw := format.NewRowWriter(a.stdout, a.output, format.AgreementsView.Header(a.output))
	seen := map[string]bool{}
	shown := 0
	var last *bilatv1.ListAgreementsResponse
	for page := 0; ; page++ {
		ctx, cancel := a.callCtx(cmd.Context())
		resp, err := gw.ListAgreements(ctx, req)
		cancel()
		if err != nil {
			return a.gatewayErr(err)
		}
		last = resp
		if limit > 0 && shown+len(resp.GetAgreements()) > limit {
			resp.Agreements = resp.Agreements[:limit-shown]
		}
		shown += len(resp.GetAgreements())
		if a.output == OutputJSON {
			if err := a.printProtoLine(resp); err != nil {
				return err
			}
		} else if len(resp.GetAgreements()) > 0 {
			if err := rw.Write(format.AgreementsView.Rows(a.output, resp.GetAgreements())); err != nil {
				return err
			}
		}
		next := resp.GetNextPageToken()
		if (!all && limit == 0) || next == "" || (limit > 0 && shown >= limit) {
			break
		}
		if seen[next] || page >= maxPages {
			return fmt.Errorf("gateway at %s repeats page token %q; stopping --all", a.gateway, next)
		}
		seen[next] = true
		req.PageToken = next
	}
	switch a.output {
	case OutputJSON:
		return nil
	case OutputCSV:
		return rw.Close()
	}
	if shown == 0 {
		_, err := fmt.Fprintln(a.stdout, "no agreements match")
		return err
	}
	fmt.Fprintf(a.stdout, "\n%d of %d agreements", shown, last.GetTotalSize())
	if t := last.GetNextPageToken(); t != "" {
		fmt.Fprintf(a.stdout, "; next page: --page-token %s (or --all)", t)
	}
	_, err := fmt.Fprintln(a.stdout)
	return err
}
