package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// enrichmentFlag declares --enrichment (GazetteerService; the gateway does
// not proxy it) on cmd and its subcommands.
func enrichmentFlag(cmd *cobra.Command, addr *string) {
	cmd.PersistentFlags().StringVar(addr, "enrichment", DefaultEnrichment,
		"enrichment gRPC address (GazetteerService) (env "+EnvEnrichment+")")
}

func (a *app) enrichmentErr(addr string, err error) error {
	return a.callErr("enrichment", addr, "--enrichment", err)
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
	enrichmentFlag(cmd, &addr)
	cmd.AddCommand(newEntitiesResolveCmd(a, &addr), newEntitiesSearchCmd(a, &addr), newEntitiesGetCmd(a, &addr),
		newEntitiesUnresolvedCmd(a, &addr), newEntitiesAliasCmd(a, &addr))
	return cmd
}

func (a *app) gazetteer(addr string) (bilatv1.GazetteerServiceClient, func(), error) {
	conn, err := a.dial(addr)
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

func score(x float64) string { return format.Score(x) }

func candidateList(cs []*bilatv1.Candidate) string { return format.CandidateList(cs) }

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
			gz, closeConn, err := a.gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			var rows []format.ResolveRow
			var all []*bilatv1.ResolveEntityResponse
			for _, name := range args {
				ctx, cancel := a.callCtx(cmd.Context())
				resp, err := gz.ResolveEntity(ctx, &bilatv1.ResolveEntityRequest{Name: name})
				cancel()
				if err != nil {
					return a.enrichmentErr(*addr, fmt.Errorf("resolve %q: %w", name, err))
				}
				all = append(all, resp)
				rows = append(rows, format.ResolveRow{Name: name, Resp: resp})
			}
			if a.output == OutputJSON {
				// One document: an array of the answers in argument order.
				return printProtoArray(a.stdout, all)
			}
			return format.Render(a.stdout, a.output, format.ResolveView, rows)
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
			gz, closeConn, err := a.gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.SearchEntities(ctx, req)
			if err != nil {
				return a.enrichmentErr(*addr, err)
			}
			return render(a, resp, format.SearchHitsView, resp.GetHits(), "no entity matches")
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
			gz, closeConn, err := a.gazetteer(*addr)
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
				return a.enrichmentErr(*addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			e := resp.GetEntity()
			if a.output == OutputCSV {
				return format.WriteFields(a.stdout, OutputCSV, entityFields(resp))
			}
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
			gz, closeConn, err := a.gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.ListUnresolved(ctx, &bilatv1.ListUnresolvedRequest{Limit: int32(limit)})
			if err != nil {
				return a.enrichmentErr(*addr, err)
			}
			return render(a, resp, format.UnresolvedView, resp.GetNames(), "every name resolved")
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
			gz, closeConn, err := a.gazetteer(*addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.AddAlias(ctx, &bilatv1.AddAliasRequest{Alias: args[0], Code: args[1]})
			if err != nil {
				return a.enrichmentErr(*addr, err)
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

// entityFields are `entities get` as field,value rows (for -o csv).
func entityFields(resp *bilatv1.GetEntityResponse) []format.Field {
	e := resp.GetEntity()
	codes := func(es []*bilatv1.Entity) string {
		out := make([]string, len(es))
		for i, x := range es {
			out[i] = x.GetCode()
		}
		return strings.Join(out, " ")
	}
	fs := []format.Field{{Name: "code", Value: e.GetCode()}, {Name: "name", Value: e.GetName()}, {Name: "kind", Value: format.EnumName(e.GetKind())},
		{Name: "category", Value: e.GetCategory()}, {Name: "parent", Value: e.GetParent()}, {Name: "country", Value: e.GetCountry()},
		{Name: "aliases", Value: strings.Join(e.GetAliases(), "; ")}}
	for _, m := range e.GetMemberships() {
		v := m.GetBloc() + " joined " + format.Or(format.PartialDate(m.GetJoined()), "?")
		if m.GetLeft() != nil {
			v += " left " + format.PartialDate(m.GetLeft())
		}
		fs = append(fs, format.Field{Name: "member_of", Value: v})
	}
	return append(fs, format.Field{Name: "children", Value: codes(resp.GetChildren())}, format.Field{Name: "members", Value: codes(resp.GetMembers())})
}
