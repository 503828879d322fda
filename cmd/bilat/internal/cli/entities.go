package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"bilat.dev/cmd/bilat/internal/client"
	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// EnvEnrichment names the enrichment service's address (GazetteerService;
// the gateway does not proxy it).
const (
	EnvEnrichment     = "BILAT_ENRICHMENT"
	DefaultEnrichment = "127.0.0.1:7102"
)

// enrichmentFlag declares --enrichment on cmd and its subcommands.
func enrichmentFlag(a *app, cmd *cobra.Command, addr *string) {
	cmd.PersistentFlags().StringVar(addr, "enrichment", envOr(a.getenv, EnvEnrichment, DefaultEnrichment),
		"enrichment gRPC address (GazetteerService) (env "+EnvEnrichment+")")
}

func enrichmentErr(addr string, err error) error {
	return &client.CallError{Service: "enrichment", Addr: addr, Flag: "--enrichment", Err: err}
}

func newEntitiesCmd(a *app) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:     "entities",
		Aliases: []string{"entity", "gazetteer"},
		Short:   "Resolve, search and curate the gazetteer's entities (enrichment)",
		Long: `Ask the enrichment service how names resolve to entities, look entities up,
see which names did not resolve, and teach it new spellings.

Resolution normalises case, punctuation, diacritics and ё/е, transliterates
Cyrillic to Latin, strips generic words ("Region", "область", "Government of
the Republic of …") using them to prefer a kind, and tolerates small
misspellings. Two close candidates make a name ambiguous rather than a guess.`,
		Example: `  bilat entities resolve "Mogilev Region" "Могилёв" "Stavropl Krai"
  bilat entities search Stav
  bilat entities get RU-STA
  bilat entities unresolved
  bilat entities alias add "Sakartvelo" GE`,
	}
	enrichmentFlag(a, cmd, &addr)
	cmd.AddCommand(newEntitiesResolveCmd(a, &addr), newEntitiesSearchCmd(a, &addr), newEntitiesGetCmd(a, &addr),
		newEntitiesUnresolvedCmd(a, &addr), newEntitiesAliasCmd(a, &addr))
	return cmd
}

func gazetteer(addr string) (bilatv1.GazetteerServiceClient, func(), error) {
	conn, err := dial(addr)
	if err != nil {
		return nil, nil, err
	}
	return bilatv1.NewGazetteerServiceClient(conn), func() { conn.Close() }, nil
}

// printProtoArray writes messages as one JSON array of protojson objects.
func printProtoArray[M proto.Message](w io.Writer, ms []M) error {
	var b strings.Builder
	b.WriteString("[")
	for i, m := range ms {
		data, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
		b.Write(data)
	}
	b.WriteString("\n]")
	if _, err := fmt.Fprintln(w, b.String()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func score(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

func candidateList(cs []*bilatv1.Candidate) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		parts = append(parts, fmt.Sprintf("%s %s", c.GetCode(), score(c.GetScore())))
	}
	return strings.Join(parts, ", ")
}

func newEntitiesResolveCmd(a *app, addr *string) *cobra.Command {
	return &cobra.Command{
		Use:   "resolve NAME...",
		Short: "Show how each name resolves: code, kind, name, parent, confidence, candidates",
		Long: `Resolve each name as the pipeline would. RESOLUTION is resolved, unresolved
or ambiguous; METHOD says how the name matched (exact, translit, stripped,
fuzzy, operator); CANDIDATES are the runners-up with their scores.
Exit 0 even when a name does not resolve (that is an answer).`,
		Example: `  bilat entities resolve "Mogilev" "Mogilev Region" "Могилевская обл."
  bilat entities resolve "Government of the Republic of Dagestan" -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(cmd, fmt.Errorf("%s needs at least one NAME", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			gz, closeConn, err := gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			var rows [][]string
			var all []*bilatv1.ResolveEntityResponse
			for _, name := range args {
				ctx, cancel := a.callCtx(cmd.Context())
				resp, err := gz.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: name})
				cancel()
				if err != nil {
					return enrichmentErr(*addr, fmt.Errorf("resolve %q: %w", name, err))
				}
				all = append(all, resp)
				e := resp.GetEntity()
				rows = append(rows, []string{name, strings.ToLower(strings.TrimPrefix(resp.GetResolution().String(), "RESOLUTION_")),
					format.Or(e.GetCode(), "-"), format.Or(format.EnumName(e.GetKind()), "-"), format.Or(e.GetName(), "-"),
					format.Or(e.GetParent(), "-"), score(resp.GetConfidence()), format.Or(resp.GetMethod(), "-"),
					format.Or(candidateList(resp.GetCandidates()), "-")})
			}
			if a.output == OutputJSON {
				return printProtoArray(a.stdout, all)
			}
			return format.Table(a.stdout, []string{"NAME", "RESOLUTION", "CODE", "KIND", "ENTITY", "PARENT", "CONFIDENCE", "METHOD", "CANDIDATES"}, rows)
		},
	}
}

func newEntitiesSearchCmd(a *app, addr *string) *cobra.Command {
	var (
		limit int
		kind  string
	)
	kinds := format.EnumNames(bilatv1.EntityKind(0).Descriptor())
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Find entities by a prefix or a misspelt name (autocompletion)",
		Example: `  bilat entities search Stav
  bilat entities search Могил --kind city
  bilat entities search Tbilsi --limit 3 -o json`,
		Args: exactArgs(1, "one QUERY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &bilatv1.SearchEntitiesRequest{Query: args[0], Limit: int32(limit)}
			if limit < 0 || limit > 100 {
				return usageErr(cmd, fmt.Errorf("--limit must be 0..100, not %d", limit))
			}
			if kind != "" {
				k, err := format.ParseEnum(bilatv1.EntityKind(0).Descriptor(), kind)
				if err != nil {
					return usageErr(cmd, err)
				}
				req.Kind = bilatv1.EntityKind(k)
			}
			gz, closeConn, err := gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.SearchEntities(ctx, req)
			if err != nil {
				return enrichmentErr(*addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			if len(resp.GetHits()) == 0 {
				fmt.Fprintln(a.stdout, "no entity matches")
				return nil
			}
			rows := make([][]string, 0, len(resp.GetHits()))
			for _, h := range resp.GetHits() {
				e := h.GetEntity()
				rows = append(rows, []string{e.GetCode(), format.EnumName(e.GetKind()), e.GetName(), format.Or(e.GetParent(), "-"), h.GetMatchedAlias(), score(h.GetScore())})
			}
			return format.Table(a.stdout, []string{"CODE", "KIND", "NAME", "PARENT", "MATCHED", "SCORE"}, rows)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many hits, 1..100 (default 10)")
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind: "+strings.Join(kinds, ", "))
	_ = cmd.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(kinds, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newEntitiesGetCmd(a *app, addr *string) *cobra.Command {
	return &cobra.Command{
		Use:   "get CODE",
		Short: "Show one entity with its aliases, parent, children and blocs",
		Example: `  bilat entities get RU-STA
  bilat entities get bloc.eaeu -o json`,
		Args: exactArgs(1, "one entity CODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			gz, closeConn, err := gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: args[0]})
			if err != nil {
				if status.Code(err) == codes.NotFound {
					return fmt.Errorf("entity %q not found (find codes with `bilat entities search`)", args[0])
				}
				return enrichmentErr(*addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			e := resp.GetEntity()
			w := a.stdout
			fmt.Fprintf(w, "%s  %s (%s)\n", e.GetCode(), e.GetName(), format.EnumName(e.GetKind()))
			if c := e.GetCategory(); c != "" {
				fmt.Fprintf(w, "category:  %s\n", c)
			}
			if p := resp.GetParent(); p != nil {
				fmt.Fprintf(w, "parent:    %s %s\n", p.GetCode(), p.GetName())
			} else if e.GetParent() != "" {
				fmt.Fprintf(w, "parent:    %s\n", e.GetParent())
			}
			if c := e.GetCountry(); c != "" {
				fmt.Fprintf(w, "country:   %s\n", c)
			}
			if len(e.GetAliases()) > 0 {
				fmt.Fprintf(w, "aliases:   %s\n", strings.Join(e.GetAliases(), "; "))
			}
			for _, m := range e.GetMemberships() {
				left := ""
				if m.GetLeft() != nil {
					left = " left " + format.PartialDate(m.GetLeft())
				}
				fmt.Fprintf(w, "member of: %s joined %s%s\n", m.GetBloc(), format.Or(format.PartialDate(m.GetJoined()), "?"), left)
			}
			list := func(label string, es []*bilatv1.Entity) {
				if len(es) == 0 {
					return
				}
				names := make([]string, len(es))
				for i, x := range es {
					names[i] = x.GetCode()
				}
				fmt.Fprintf(w, "%-10s %s\n", label, wrap(strings.Join(names, ", "), 66, strings.Repeat(" ", 11)))
			}
			list("children:", resp.GetChildren())
			list("members:", resp.GetMembers())
			return nil
		},
	}
}

func newEntitiesUnresolvedCmd(a *app, addr *string) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "unresolved",
		Short: "List names enrichment could not resolve (or found ambiguous), most frequent first",
		Long: `List the names met in recorded events that did not resolve, with how many
events carried them and the candidates of ambiguous ones. Fix one with
'bilat entities alias add NAME CODE': the events carrying it are enriched
again and move to the right partner.`,
		Example: `  bilat entities unresolved
  bilat entities unresolved --limit 20 -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usageErr(cmd, fmt.Errorf("--limit must not be negative"))
			}
			gz, closeConn, err := gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.ListUnresolved(ctx, &bilatv1.ListUnresolvedRequest{Limit: int32(limit)})
			if err != nil {
				return enrichmentErr(*addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			if len(resp.GetNames()) == 0 {
				fmt.Fprintln(a.stdout, "every name resolved")
				return nil
			}
			rows := make([][]string, 0, len(resp.GetNames()))
			for _, n := range resp.GetNames() {
				rows = append(rows, []string{strconv.FormatInt(n.GetCount(), 10), n.GetName(),
					strings.ToLower(strings.TrimPrefix(n.GetResolution().String(), "RESOLUTION_")), format.Or(candidateList(n.GetCandidates()), "-")})
			}
			return format.Table(a.stdout, []string{"EVENTS", "NAME", "RESOLUTION", "CANDIDATES"}, rows)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many names (default 100)")
	return cmd
}

func newEntitiesAliasCmd(a *app, addr *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alias",
		Short: "Teach the gazetteer new spellings",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "add ALIAS CODE",
		Short: "Add a spelling of an entity; takes effect at once and re-enriches affected events",
		Long: `Add ALIAS as a spelling of the entity CODE. Every enrichment replica applies it
without restart (it is kept in the BILAT_ALIASES bucket), and the recorded
events that carried a name it now resolves are enriched again, so the
projections move them to the right partner (each counted once).`,
		Example: `  bilat entities alias add "Sakartvelo" GE
  bilat entities alias add "Могилёвский облисполком" BY-MA`,
		Args: exactArgs(2, "ALIAS and CODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			gz, closeConn, err := gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.AddAlias(ctx, &bilatv1.AddAliasRequest{Alias: args[0], Code: args[1]})
			if err != nil {
				if client.IsInvalidArgument(err) {
					return &ExitError{Code: ExitInvalid, Err: enrichmentErr(*addr, err)}
				}
				return enrichmentErr(*addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			fmt.Fprintf(a.stdout, "alias %q (%s) → %s added; %d events re-enriched", args[0], resp.GetNormalized(), args[1], resp.GetReenriched())
			if n := resp.GetResolvedNames(); len(n) > 0 {
				fmt.Fprintf(a.stdout, "; now resolved: %s", strings.Join(n, "; "))
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	})
	return cmd
}
