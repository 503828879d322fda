package cli

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// enumCompletion completes an enum flag with its lower-case value names.
func enumCompletion(cmd *cobra.Command, flag string, desc protoreflect.EnumDescriptor) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(format.EnumNames(desc), cobra.ShellCompDirectiveNoFileComp))
}

// fixedCompletion completes a flag with fixed choices.
func fixedCompletion(cmd *cobra.Command, flag string, choices ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(choices, cobra.ShellCompDirectiveNoFileComp))
}

// codeRE matches entity codes: ISO 3166-1 ("GE"), ISO 3166-2 ("RU-STA"),
// and slugs ("GE-AJ.batumi", "bloc.cis", "org.by.bntu").
var codeRE = regexp.MustCompile(`^(?:[A-Z]{2}(?:-[A-Z0-9]{1,3})?(?:\.[a-z0-9_.-]+)?|[a-z]+\.[a-z0-9_.-]+)$`)

// looksLikeCode tells an entity code from a name, so codes are used as
// given without a search.
func looksLikeCode(s string) bool { return codeRE.MatchString(s) }

// partnerResolver turns partner arguments written as names into codes
// through PartnerService.SearchPartners on the gateway.
type partnerResolver struct {
	a    *app
	conn grpc.ClientConnInterface
}

// resolve returns the code of the partner s names: s itself when it looks
// like a code, else the confident match of a search (the query equals the
// entity's code, name or matched alias, ignoring case); otherwise an error
// that lists the closest matches.
func (r partnerResolver) resolve(ctx context.Context, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || looksLikeCode(s) {
		return s, nil
	}
	cctx, cancel := r.a.callCtx(ctx)
	defer cancel()
	resp, err := bilatv1.NewPartnerServiceClient(r.conn).SearchPartners(cctx, &bilatv1.SearchPartnersRequest{Query: s, Limit: 5})
	if err != nil {
		return "", r.a.gatewayErr(fmt.Errorf("look up partner %q: %w", s, err))
	}
	hits := resp.GetHits()
	for _, h := range hits {
		e := h.GetEntity()
		if strings.EqualFold(e.GetCode(), s) || strings.EqualFold(e.GetName(), s) || strings.EqualFold(h.GetMatchedAlias(), s) {
			return e.GetCode(), nil
		}
	}
	if len(hits) == 0 {
		return "", &ExitError{Code: ExitInvalid, Err: fmt.Errorf("no partner %q (find one with `bilat partners search`)", s)}
	}
	var sugg []string
	for _, h := range hits {
		sugg = append(sugg, fmt.Sprintf("%s (%s)", h.GetEntity().GetName(), h.GetEntity().GetCode()))
	}
	return "", &ExitError{Code: ExitInvalid, Err: fmt.Errorf("no partner %q; did you mean: %s", s, strings.Join(sugg, ", "))}
}

// resolveAll resolves every partner, in order.
func (r partnerResolver) resolveAll(ctx context.Context, ps []string) ([]string, error) {
	codes := make([]string, len(ps))
	for i, p := range ps {
		code, err := r.resolve(ctx, p)
		if err != nil {
			return nil, err
		}
		codes[i] = code
	}
	return codes, nil
}

// resolvePartners dials the gateway for the lookup only when some partner
// is written as a name.
func (a *app) resolvePartners(ctx context.Context, ps ...*string) error {
	need := false
	for _, p := range ps {
		if s := strings.TrimSpace(*p); s != "" && !looksLikeCode(s) {
			need = true
		}
	}
	if !need {
		return nil
	}
	conn, err := a.dial(a.gateway)
	if err != nil {
		return err
	}
	defer conn.Close()
	r := partnerResolver{a: a, conn: conn}
	for _, p := range ps {
		code, err := r.resolve(ctx, *p)
		if err != nil {
			return err
		}
		*p = code
	}
	return nil
}

// completePartners completes a partner argument or flag through
// SearchPartners: "CODE<TAB>Name (kind)" for each hit.
func (a *app) completePartners(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return a.searchCompletions(cmd, toComplete, 0)
}

// completePartnersOfKind completes only entities of one kind (blocs).
func (a *app) completePartnersOfKind(kind bilatv1.EntityKind) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return a.searchCompletions(cmd, toComplete, kind)
	}
}

func (a *app) searchCompletions(cmd *cobra.Command, toComplete string, kind bilatv1.EntityKind) ([]string, cobra.ShellCompDirective) {
	// PersistentPreRunE ran for the hidden __complete command, which does
	// not parse flags: resolve the settings again from the flags of the
	// command being completed (--server, --token given on the line).
	if err := a.resolveSettings(cmd); err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	if strings.TrimSpace(toComplete) == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	conn, err := a.dial(a.gateway)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	defer conn.Close()
	ctx, cancel := a.callCtx(context.Background())
	defer cancel()
	resp, err := bilatv1.NewPartnerServiceClient(conn).SearchPartners(ctx, &bilatv1.SearchPartnersRequest{Query: toComplete, Limit: 20, Kind: kind})
	if err != nil {
		cobra.CompDebugln("partner completion: "+err.Error(), true)
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var out []string
	for _, h := range resp.GetHits() {
		e := h.GetEntity()
		out = append(out, fmt.Sprintf("%s\t%s (%s)", e.GetCode(), e.GetName(), format.EnumName(e.GetKind())))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func newPartnersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "partners",
		Aliases: []string{"partner"},
		Short:   "Partner profiles and partner search (gateway)",
	}
	cmd.AddCommand(newPartnersShowCmd(a), newPartnersSearchCmd(a))
	return cmd
}

func newPartnersSearchCmd(a *app) *cobra.Command {
	var limit int
	var kind string
	cmd := &cobra.Command{
		Use:   "search WORDS...",
		Short: "Find partners by a prefix or a misspelt name, in any script",
		Example: `  bilat partners search Stav
  bilat partners search Gorgia
  bilat partners search Могил --kind region -o csv`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(cmd, fmt.Errorf("%s needs some WORDS", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 || limit > 100 {
				return usageErr(cmd, fmt.Errorf("--limit must be 0..100, not %d", limit))
			}
			req := &bilatv1.SearchPartnersRequest{Query: strings.Join(args, " "), Limit: int32(limit)}
			if kind != "" {
				k, err := format.ParseEnum(bilatv1.EntityKind(0).Descriptor(), kind)
				if err != nil {
					return usageErr(cmd, fmt.Errorf("--kind: %w", err))
				}
				req.Kind = bilatv1.EntityKind(k)
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewPartnerServiceClient(conn).SearchPartners(ctx, req)
			if err != nil {
				return a.gatewayErr(err)
			}
			return render(a, resp, format.SearchHitsView, resp.GetHits(), "no partner matches")
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many hits, 1..100 (default 10)")
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind: "+strings.Join(format.EnumNames(bilatv1.EntityKind(0).Descriptor()), ", "))
	enumCompletion(cmd, "kind", bilatv1.EntityKind(0).Descriptor())
	return cmd
}

func newPartnersShowCmd(a *app) *cobra.Command {
	var from, to int
	var withSub bool
	cmd := &cobra.Command{
		Use:   "show PARTNER",
		Short: "A partner's profile: entity, memberships, children, agreements by domain and year, trade, timeline",
		Long: `Show everything recorded with one partner in one call: the entity (parent,
children, blocs it belongs to, members of a bloc), its agreements counted by
domain and signing year, the top domains, the first and latest agreements,
its best trade values per period, and agreements and trade on one timeline.

PARTNER is an entity code or a name ("Georgia"); a name that matches no
partner confidently fails with the closest matches.`,
		Example: `  bilat partners show GE
  bilat partners show Georgia --from 2015
  bilat partners show RU --with-subentities -o json`,
		Args:              exactArgs(1, "one PARTNER"),
		ValidArgsFunction: a.completePartners,
		RunE: func(cmd *cobra.Command, args []string) error {
			from32, to32, err := yearRange(from, to)
			if err != nil {
				return usageErr(cmd, err)
			}
			conn, err := a.dial(a.gateway)
			if err != nil {
				return err
			}
			defer conn.Close()
			partner, err := partnerResolver{a: a, conn: conn}.resolve(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := bilatv1.NewPartnerServiceClient(conn).GetPartnerProfile(ctx, &bilatv1.GetPartnerProfileRequest{
				Partner: partner, IncludeSubEntities: withSub, FromYear: from32, ToYear: to32})
			if err != nil {
				return a.gatewayErr(err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			return format.WriteProfile(a.stdout, a.output, resp)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&from, "from", 0, "first year (inclusive) of agreements, trade and timeline")
	fl.IntVar(&to, "to", 0, "last year (inclusive)")
	fl.BoolVar(&withSub, "with-subentities", false, "count the agreements of its regions and cities too")
	return cmd
}

// partnerArgs checks that a command got at least n partner arguments.
func partnerArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErr(cmd, fmt.Errorf("%s needs at least %d PARTNER arguments (got %d)", cmd.CommandPath(), n, len(args)))
		}
		return nil
	}
}

// resolveArgs resolves partner arguments written as names, in place.
func (a *app) resolveArgs(cmd *cobra.Command, args []string) error {
	ps := make([]*string, len(args))
	for i := range args {
		ps[i] = &args[i]
	}
	return a.resolvePartners(cmd.Context(), ps...)
}
