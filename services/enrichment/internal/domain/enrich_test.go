package domain

import (
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func party(name string, lvl bilatv1.PartyLevel) *bilatv1.Party {
	return &bilatv1.Party{Entity: &bilatv1.EntityRef{Name: name}, Level: lvl}
}

func TestAgreementPartner(t *testing.T) {
	g := bookGazetteer(t)
	by := Enricher{Gazetteer: g, Home: "BY"}

	t.Run("named partner resolves", func(t *testing.T) {
		a := &bilatv1.Agreement{
			Parties: []*bilatv1.Party{party("Stavropol regional government", bilatv1.PartyLevel_PARTY_LEVEL_REGION), party("Brest regional executive committee", bilatv1.PartyLevel_PARTY_LEVEL_REGION)},
			Partner: &bilatv1.EntityRef{Name: "Stavropol Krai"},
		}
		if code := by.Agreement(a); code != "RU-STA" {
			t.Fatalf("partner code = %q", code)
		}
		if a.Parties[0].Entity.Code != "org.ru.government-of-stavropol-krai" || a.Parties[1].Entity.Code != "BY-BR" {
			t.Errorf("parties = %v", a.Parties)
		}
		if _, ok := a.Attributes[AttrPartnerInferred]; ok {
			t.Error("named partner marked inferred")
		}
	})
	t.Run("inferred from the first non-home party", func(t *testing.T) {
		a := &bilatv1.Agreement{Parties: []*bilatv1.Party{
			party("Minsk Automobile Plant", bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE), // home (BY)
			party("Georgian buyers (unnamed)", bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE),
			party("Profauto LLC", bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE),
			party("Georgia", bilatv1.PartyLevel_PARTY_LEVEL_STATE),
		}}
		if code := by.Agreement(a); code != "org.ge.profauto-llc" {
			t.Fatalf("partner code = %q, want the first resolved non-home party", code)
		}
		if a.Partner.Name != "Profauto LLC" || a.Partner.Country != "GE" || a.Attributes[AttrPartnerInferred] != "parties[2]" {
			t.Errorf("partner = %v, attrs %v", a.Partner, a.Attributes)
		}
		if a.Parties[1].Entity.Name != "Georgian buyers (unnamed)" || a.Parties[1].Entity.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED {
			t.Errorf("unresolved party not kept: %v", a.Parties[1])
		}
	})
	t.Run("home is configurable", func(t *testing.T) {
		a := &bilatv1.Agreement{Parties: []*bilatv1.Party{party("Georgia", bilatv1.PartyLevel_PARTY_LEVEL_STATE), party("Republic of Belarus", bilatv1.PartyLevel_PARTY_LEVEL_STATE)}}
		if code := (Enricher{Gazetteer: g, Home: "GE"}).Agreement(a); code != "BY" {
			t.Errorf("with home GE the partner is %q, want BY", code)
		}
	})
	t.Run("only home parties: no partner", func(t *testing.T) {
		a := &bilatv1.Agreement{Parties: []*bilatv1.Party{party("Republic of Belarus", bilatv1.PartyLevel_PARTY_LEVEL_STATE), party("Minsk", bilatv1.PartyLevel_PARTY_LEVEL_CITY)}}
		if code := by.Agreement(a); code != "" || a.Partner != nil {
			t.Errorf("partner = %q %v, want none", code, a.Partner)
		}
	})
	t.Run("unresolved partner kept as written", func(t *testing.T) {
		a := &bilatv1.Agreement{Partner: &bilatv1.EntityRef{Name: "Atlantis (island)"}, Parties: []*bilatv1.Party{party("Georgia", bilatv1.PartyLevel_PARTY_LEVEL_STATE)}}
		if code := by.Agreement(a); code != "" {
			t.Errorf("code = %q", code)
		}
		if a.Partner.Name != "Atlantis (island)" || a.Partner.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED {
			t.Errorf("partner = %v", a.Partner)
		}
	})
	t.Run("ambiguous partner has no code", func(t *testing.T) {
		a := &bilatv1.Agreement{Partner: &bilatv1.EntityRef{Name: "Stavropol"}}
		if code := by.Agreement(a); code != "" || a.Partner.Resolution != bilatv1.Resolution_RESOLUTION_AMBIGUOUS || a.Partner.Code != "" {
			t.Errorf("code %q partner %v", code, a.Partner)
		}
	})
	t.Run("empty partner ref without candidates is marked unresolved", func(t *testing.T) {
		a := &bilatv1.Agreement{Partner: &bilatv1.EntityRef{}, Parties: []*bilatv1.Party{{Level: bilatv1.PartyLevel_PARTY_LEVEL_STATE}}}
		if code := by.Agreement(a); code != "" || a.Partner.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED {
			t.Errorf("code %q partner %v", code, a.Partner)
		}
	})
}

func TestTradeFigure(t *testing.T) {
	g := bookGazetteer(t)
	by := Enricher{Gazetteer: g, Home: "BY"}
	f := &bilatv1.TradeFigure{Reporter: &bilatv1.EntityRef{Name: "Minsk"}, Partner: &bilatv1.EntityRef{Name: "Republic of Dagestan"}}
	if code := by.TradeFigure(f); code != "RU-DA" || f.Reporter.Code != "BY-HM" || f.Partner.Parent != "RU.ncfd" {
		t.Errorf("code %q, figure %v", code, f)
	}
	f = &bilatv1.TradeFigure{Reporter: &bilatv1.EntityRef{Name: "Belarus"}, Partner: &bilatv1.EntityRef{Name: "all investors (unspecified)"}}
	if code := by.TradeFigure(f); code != "" || f.Partner.Name != "all investors (unspecified)" {
		t.Errorf("code %q, partner %v", code, f.Partner)
	}
	if code := by.TradeFigure(nil); code != "" {
		t.Errorf("nil figure: %q", code)
	}
}
