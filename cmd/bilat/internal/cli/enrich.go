package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"bilat.dev/cmd/bilat/internal/format"
	"bilat.dev/cmd/bilat/internal/input"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func newEnrichCmd(a *app) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "enrich FILE|-",
		Short: "Show how an agreement or trade figure would be enriched, without recording it",
		Long: `Enrich one record exactly as the pipeline would — names resolved, party levels
inferred, domains classified with the words that decided them, the value
converted to USD — and print the result without recording anything, so a
publisher can check data before sending it.

The input is one protojson object: a bare bilat.v1.Agreement or
bilat.v1.TradeFigure (told apart by their fields), or an ImportRequest line
({"agreement": {...}} / {"tradeFigure": {...}}).`,
		Example: `  bilat enrich mou.json
  head -1 data/agreements.ndjson | bilat enrich -
  echo '{"title":"Соглашение о научно-техническом сотрудничестве","parties":[{"entity":{"name":"Могилевский облисполком"}}]}' |
    bilat enrich - -o json`,
		Args: exactArgs(1, "one FILE (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readInput(a.stdin, args[0])
			if err != nil {
				return err
			}
			kind := guessKind(data)
			msg, _, err := input.DecodeSingle(data, kind)
			if err != nil {
				return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%s: %w", displayName(args[0]), err)}
			}
			req := &bilatv1.PreviewEnrichmentRequest{}
			switch m := msg.(type) {
			case *bilatv1.Agreement:
				req.Item = &bilatv1.PreviewEnrichmentRequest_Agreement{Agreement: m}
			case *bilatv1.TradeFigure:
				req.Item = &bilatv1.PreviewEnrichmentRequest_TradeFigure{TradeFigure: m}
			}
			gz, closeConn, err := a.gazetteer(addr)
			if err != nil {
				return err
			}
			defer closeConn()
			ctx, cancel := a.callCtx(cmd.Context())
			defer cancel()
			resp, err := gz.PreviewEnrichment(ctx, req)
			if err != nil {
				return a.enrichmentErr(addr, err)
			}
			if a.output == OutputJSON {
				return a.printProto(resp)
			}
			return previewText(a, resp)
		},
	}
	enrichmentFlag(cmd, &addr)
	return cmd
}

// guessKind tells a trade figure from an agreement by its top-level keys;
// DecodeSingle then checks the whole document.
func guessKind(data []byte) input.Kind {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return input.KindAgreement
	}
	for _, k := range []string{"tradeFigure", "trade_figure", "reporter", "period", "flow"} {
		if _, ok := top[k]; ok {
			return input.KindTradeFigure
		}
	}
	return input.KindAgreement
}

func refLine(r *bilatv1.EntityRef) string {
	s := format.RefLong(r)
	if r.GetResolution() == bilatv1.Resolution_RESOLUTION_RESOLVED {
		s += fmt.Sprintf(" confidence %s", score(r.GetConfidence()))
	}
	if len(r.GetCandidates()) > 0 {
		s += "; candidates " + candidateList(r.GetCandidates())
	}
	return s
}

func fxLine(f *bilatv1.FxConversion) string {
	switch {
	case f == nil:
		return ""
	case f.GetGap():
		return "no USD value (gap): " + f.GetNote()
	default:
		return fmt.Sprintf("%s at %g per USD (%d average, %s)", format.Money(f.GetUsd(), false), f.GetRate(), f.GetRateYear(), format.Or(f.GetSource(), "?"))
	}
}

func previewText(a *app, resp *bilatv1.PreviewEnrichmentResponse) error {
	w := a.stdout
	fmt.Fprintf(w, "subject:   %s\n", resp.GetSubject())
	if ag := resp.GetAgreement().GetAgreement(); ag != nil {
		fmt.Fprintf(w, "title:     %s\n", ag.GetTitle())
		fmt.Fprintf(w, "partner:   %s\n", format.Or(refLine(ag.GetPartner()), "-"))
		if v := ag.GetAttributes()["enrichment.partner_inferred"]; v != "" {
			fmt.Fprintf(w, "           (inferred from %s)\n", v)
		}
		for i, p := range ag.GetParties() {
			how := "given"
			if p.GetLevelInferred() {
				how = "inferred"
			}
			fmt.Fprintf(w, "party %d:   %s\n           level %s (%s)\n", i+1, refLine(p.GetEntity()), format.Or(format.EnumName(p.GetLevel()), "-"), how)
		}
		fmt.Fprintf(w, "signed:    %s\n", format.Or(format.PartialDate(ag.GetSignedOn()), "-"))
		fmt.Fprintf(w, "domains:   %s\n", format.Or(format.Domains(ag.GetDomains()), "-"))
		for _, l := range ag.GetDomainLabels() {
			how := "classified"
			if l.GetGiven() {
				how = "given"
			}
			terms := "-"
			if len(l.GetTerms()) > 0 {
				terms = `"` + strings.Join(l.GetTerms(), `", "`) + `"`
			}
			fmt.Fprintf(w, "  %-20s %-10s %s\n", format.EnumName(l.GetDomain()), how, terms)
		}
		if ag.GetValue() != nil {
			fmt.Fprintf(w, "value:     %s\n           %s\n", format.Money(ag.GetValue(), ag.GetValueApproximate()), fxLine(ag.GetValueUsd()))
		}
		return nil
	}
	f := resp.GetTradeFigure().GetFigure()
	if f == nil {
		return fmt.Errorf("enrichment answered an empty preview")
	}
	fmt.Fprintf(w, "reporter:  %s\n", refLine(f.GetReporter()))
	fmt.Fprintf(w, "partner:   %s\n", refLine(f.GetPartner()))
	fmt.Fprintf(w, "period:    %s  %s\n", format.Period(f.GetPeriod()), format.EnumName(f.GetFlow()))
	fmt.Fprintf(w, "value:     %s\n           %s\n", format.Money(f.GetValue(), f.GetApproximate()), fxLine(f.GetValueUsd()))
	return nil
}
