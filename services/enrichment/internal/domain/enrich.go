package domain

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// AttrPartnerInferred marks an agreement whose partner enrichment chose
// among the parties because the publisher named none.
const AttrPartnerInferred = "enrichment.partner_inferred"

// Enricher applies the gazetteer to records. Home is the ISO 3166-1 code of
// the country whose cooperation is recorded (BY).
type Enricher struct {
	Gazetteer *Gazetteer
	Home      string
	// Rates converts values to USD; nil means every conversion is a gap.
	Rates *Rates
}

// IsHome reports whether a resolved ref is the home country or inside it.
func (en Enricher) IsHome(ref *bilatv1.EntityRef) bool {
	return ref.GetResolution() == bilatv1.Resolution_RESOLUTION_RESOLVED &&
		(ref.Code == en.Home || ref.Country == en.Home)
}

// Agreement resolves every party and the partner of a in place and returns
// the partner's code ("" unless the partner resolved). Without a partner
// name, the partner is the first party that resolves to a non-home entity.
func (en Enricher) Agreement(a *bilatv1.Agreement) string {
	if a == nil {
		return ""
	}
	for _, p := range a.Parties {
		en.Gazetteer.Ref(p.GetEntity())
		if p == nil {
			continue
		}
		// A publisher's level is kept; only a missing one is inferred.
		if p.Level == bilatv1.PartyLevel_PARTY_LEVEL_UNSPECIFIED || p.LevelInferred {
			p.Level, _ = InferLevel(p.GetEntity().GetName(), p.GetEntity(), en.Gazetteer)
			p.LevelInferred = p.Level != bilatv1.PartyLevel_PARTY_LEVEL_UNSPECIFIED
		}
	}
	LabelDomains(a)
	a.ValueUsd = en.Rates.ToUSD(a.Value, a.GetSignedOn().GetYear(), a.GetSignedOn().GetMonth())
	return en.partner(a)
}

func (en Enricher) partner(a *bilatv1.Agreement) string {
	if a.Partner.GetName() != "" || a.Partner.GetCode() != "" {
		en.Gazetteer.Ref(a.Partner)
		return resolvedCode(a.Partner)
	}
	for i, p := range a.Parties {
		if ref := p.GetEntity(); ref.GetResolution() == bilatv1.Resolution_RESOLUTION_RESOLVED && !en.IsHome(ref) {
			a.Partner = proto.CloneOf(ref)
			if a.Attributes == nil {
				a.Attributes = map[string]string{}
			}
			a.Attributes[AttrPartnerInferred] = "parties[" + strconv.Itoa(i) + "]"
			return resolvedCode(a.Partner)
		}
	}
	// No candidate: an empty partner ref is marked unresolved; a missing one stays missing.
	en.Gazetteer.Ref(a.Partner)
	return ""
}

// TradeFigure resolves the reporter and the partner of f in place and
// returns the partner's code ("" unless it resolved).
func (en Enricher) TradeFigure(f *bilatv1.TradeFigure) string {
	if f == nil {
		return ""
	}
	en.Gazetteer.Ref(f.Reporter)
	en.Gazetteer.Ref(f.Partner)
	// A sub-annual period uses the rate of its year.
	f.ValueUsd = en.Rates.ToUSD(f.Value, f.GetPeriod().GetYear(), 0)
	return resolvedCode(f.Partner)
}

func resolvedCode(ref *bilatv1.EntityRef) string {
	if ref.GetResolution() != bilatv1.Resolution_RESOLUTION_RESOLVED {
		return ""
	}
	return ref.Code
}

// Unresolved lists the refs of an enriched record that did not resolve
// (unresolved or ambiguous) and carry a name: what operators need to see.
func Unresolved(refs ...*bilatv1.EntityRef) []*bilatv1.EntityRef {
	var out []*bilatv1.EntityRef
	for _, r := range refs {
		if r == nil || r.Name == "" || r.Resolution == bilatv1.Resolution_RESOLUTION_RESOLVED {
			continue
		}
		out = append(out, r)
	}
	return out
}

// AgreementRefs are every entity ref of an agreement.
func AgreementRefs(a *bilatv1.Agreement) []*bilatv1.EntityRef {
	refs := []*bilatv1.EntityRef{a.GetPartner()}
	for _, p := range a.GetParties() {
		refs = append(refs, p.GetEntity())
	}
	return refs
}

// TradeRefs are every entity ref of a trade figure.
func TradeRefs(f *bilatv1.TradeFigure) []*bilatv1.EntityRef {
	return []*bilatv1.EntityRef{f.GetReporter(), f.GetPartner()}
}
