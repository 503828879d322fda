package domain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// bookGazetteer loads the repository's gazetteer, converted from the book.
func bookGazetteer(t testing.TB) *Gazetteer {
	t.Helper()
	ents, err := ParseEntities(readBook(t))
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGazetteer(ents)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func readBook(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "data", "gazetteer", "entities.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestResolveBookSpellings(t *testing.T) {
	g := bookGazetteer(t)
	const (
		resolved   = bilatv1.Resolution_RESOLUTION_RESOLVED
		unresolved = bilatv1.Resolution_RESOLUTION_UNRESOLVED
		ambiguous  = bilatv1.Resolution_RESOLUTION_AMBIGUOUS
	)
	for _, c := range []struct {
		name  string
		res   bilatv1.Resolution
		code  string // or the candidates, comma-separated, when ambiguous
		alias string
	}{
		{"Stavropol Krai", resolved, "RU-STA", "Stavropol Krai"},
		{"Stavropol Territory", resolved, "RU-STA", "Stavropol Territory"},
		{"stavropol territory of russia", resolved, "RU-STA", "Stavropol Territory of Russia"},
		{"Ставропольский край", resolved, "RU-STA", "Ставропольский край"},
		{"ставропольский край", resolved, "RU-STA", "Ставропольский край"},
		{"Stavropol", ambiguous, "RU-STA,RU-STA.stavropol", ""},
		{"Chechnya", resolved, "RU-CE", "Chechnya"},
		{"Чечня", resolved, "RU-CE", "Чечня"},
		{"Grozny", resolved, "RU-CE.grozny", "Grozny"}, // the city's name beats the republic's metonym
		{"Kabul", resolved, "AF-KAB.kabul", "Kabul"},
		{"Могилев", resolved, "BY-MA.mogilev", "Могилёв"},
		{"Магілёў", resolved, "BY-MA.mogilev", "Магілёў"},
		{"Republic of Belarus", resolved, "BY", "Republic of Belarus"},
		{"Республика Беларусь", resolved, "BY", "Республика Беларусь"},
		{"СНГ", resolved, "bloc.cis", "СНГ"},
		{"CIS", resolved, "bloc.cis", "CIS"},
		{"ЕАЭС", resolved, "bloc.eaeu", "ЕАЭС"},
		{"Union State of Russia and Belarus", resolved, "bloc.union-state", "Union State of Russia and Belarus"},
		{"NCFD", resolved, "RU.ncfd", "NCFD"},
		{"North Caucasian Federal District", resolved, "RU.ncfd", "North Caucasian Federal District"},
		{"Tbilisi", resolved, "GE-TB", "Tbilisi"},
		{"Telavi", resolved, "GE-KA.telavi", "Telavi"},
		{"Minsk tractor plant", resolved, "org.by.mtz", "Minsk Tractor Plant"},
		{"MTZ", resolved, "org.by.mtz", "MTZ"},
		{"JSC Mogilevliftmash", resolved, "org.by.mogilevliftmash", `JSC "Mogilevliftmash"`},
		{"Bel Trade Ltd", resolved, "org.ge.bel-trade-ltd", "Bel Trade Ltd."},
		{"Chinese-Belarusian Industrial Park «Great Stone»", resolved, "org.by.great-stone", `Chinese-Belarusian Industrial Park "Great Stone"`},
		{"Brest regional executive committee", resolved, "BY-BR", "Brest regional executive committee"},
		{"Glubokoe District Executive Committee of the Vitebsk Region", resolved, "BY-VI.glubokoe", "Glubokoe District Executive Committee of the Vitebsk Region"},
		{"Hlubokoe", resolved, "BY-VI.glubokoe", "Hlubokoe"},
		{"Minsk and Belarusian Automobile Plant", ambiguous, "org.by.belaz,org.by.maz", ""},
		{"Pinsk and Oshmyansk meat processing plants", ambiguous, "org.by.oshmyany-meat-processing-plant,org.by.pinsk-meat-processing-plant", ""},
		{"Georgian companies (unnamed)", unresolved, "", ""},
		{"Tbilisi (Georgia)", unresolved, "", ""},               // a qualifier is not a generic word
		{"Stavropl Krai", resolved, "RU-STA", "Stavropol Krai"}, // one edit, region word
		{"", unresolved, "", ""},
		{"  --  ", unresolved, "", ""},
	} {
		m := g.Resolve(c.name)
		got := m.Entity.GetCode()
		if m.Resolution == ambiguous {
			got = strings.Join(m.CandidateCodes(), ",")
		}
		if m.Resolution != c.res || got != c.code || m.MatchedAlias != c.alias {
			t.Errorf("Resolve(%q) = %v %q alias %q; want %v %q alias %q", c.name, m.Resolution, got, m.MatchedAlias, c.res, c.code, c.alias)
		}
		if (m.Entity != nil) != (m.Resolution == resolved) {
			t.Errorf("Resolve(%q): entity %v with resolution %v", c.name, m.Entity, m.Resolution)
		}
	}
}

func TestNewGazetteerRejectsBadCodes(t *testing.T) {
	if _, err := NewGazetteer([]*bilatv1.Entity{{Code: "GE", Name: "Georgia"}, {Code: "GE", Name: "Georgia again"}}); err == nil {
		t.Error("duplicate code accepted")
	}
	if _, err := NewGazetteer([]*bilatv1.Entity{{Name: "Nameless code"}}); err == nil {
		t.Error("empty code accepted")
	}
}

func TestSharedAliasIsAmbiguous(t *testing.T) {
	g, err := NewGazetteer([]*bilatv1.Entity{
		{Code: "A", Name: "Alpha", Aliases: []string{"Shared"}},
		{Code: "B", Name: "Beta", Aliases: []string{"shared!"}},
		{Code: "C", Name: "Twin"},
		{Code: "D", Name: "twin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"Shared": {"A", "B"}, "Twin": {"C", "D"}} {
		m := g.Resolve(name)
		if m.Resolution != bilatv1.Resolution_RESOLUTION_AMBIGUOUS || m.Entity != nil || !slices.Equal(m.CandidateCodes(), want) {
			t.Errorf("Resolve(%q) = %+v, want AMBIGUOUS %v", name, m, want)
		}
	}
	if m := g.Resolve("alpha"); m.Entity.GetCode() != "A" {
		t.Errorf("Resolve(alpha) = %+v", m)
	}
}

func TestRef(t *testing.T) {
	g := bookGazetteer(t)

	ref := &bilatv1.EntityRef{Name: "Stavropol Territory"}
	g.Ref(ref)
	want := &bilatv1.EntityRef{
		Name: "Stavropol Territory", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: "RU-STA",
		Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, CanonicalName: "Stavropol Krai", Parent: "RU.ncfd", Country: "RU",
		MatchedAlias: "Stavropol Territory", Confidence: 1,
	}
	if !proto.Equal(ref, want) {
		t.Errorf("Ref = %v, want %v", ref, want)
	}
	g.Ref(ref) // re-enriching changes nothing
	if !proto.Equal(ref, want) {
		t.Errorf("second Ref = %v", ref)
	}

	country := &bilatv1.EntityRef{Name: "Грузия"}
	g.Ref(country)
	if country.Code != "GE" || country.Country != "GE" || country.Kind != bilatv1.EntityKind_ENTITY_KIND_COUNTRY {
		t.Errorf("country ref = %v", country)
	}

	stale := &bilatv1.EntityRef{Name: "Minsk enterprises", Resolution: bilatv1.Resolution_RESOLUTION_RESOLVED, Code: "BY-HM", CanonicalName: "Minsk"}
	g.Ref(stale)
	if !proto.Equal(stale, &bilatv1.EntityRef{Name: "Minsk enterprises", Resolution: bilatv1.Resolution_RESOLUTION_UNRESOLVED}) {
		t.Errorf("unresolved ref = %v: name must be kept, stale resolution cleared", stale)
	}

	byCode := &bilatv1.EntityRef{Code: "bloc.eaeu"}
	g.Ref(byCode)
	if byCode.Resolution != bilatv1.Resolution_RESOLUTION_RESOLVED || byCode.CanonicalName != "Eurasian Economic Union" {
		t.Errorf("code-only ref = %v", byCode)
	}
	unknownCode := &bilatv1.EntityRef{Code: "XX-YY"}
	g.Ref(unknownCode)
	if unknownCode.Resolution != bilatv1.Resolution_RESOLUTION_UNRESOLVED || unknownCode.Name != "XX-YY" || unknownCode.Code != "" {
		t.Errorf("unknown code ref = %v, want it kept as the name", unknownCode)
	}
	g.Ref(nil) // no panic
}

func TestParseEntitiesRejectsGarbage(t *testing.T) {
	if _, err := ParseEntities([]byte("{\"code\":\"GE\"}\n{not json}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want a line 2 error", err)
	}
	ents, err := ParseEntities([]byte("\n{\"code\":\"GE\",\"name\":\"Georgia\"}\n\n"))
	if err != nil || len(ents) != 1 || ents[0].Name != "Georgia" {
		t.Errorf("ParseEntities = %v, %v", ents, err)
	}
}
