package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// worldIndex is the fresh gazetteer with lookups, built once per test.
type worldIndex struct {
	byCode map[string]*bilatv1.Entity
	byName map[string]string
	byKey  map[string][]string
}

var (
	worldOnce sync.Once
	worldIdx  *worldIndex
)

func freshWorld(t *testing.T) *worldIndex {
	t.Helper()
	dir, _ := fresh(t)
	l := load(t, dir)
	worldOnce.Do(func() { worldIdx = buildWorldIndex(l) })
	return worldIdx
}

func buildWorldIndex(l loaded) *worldIndex {
	w := &worldIndex{byCode: map[string]*bilatv1.Entity{}, byName: map[string]string{}, byKey: map[string][]string{}}
	for _, e := range l.entities {
		w.byCode[e.Code] = e
		w.byName[nameKey(e.Name)] = e.Code
		for _, a := range e.Aliases {
			if k := nameKey(a); !slices.Contains(w.byKey[k], e.Code) {
				w.byKey[k] = append(w.byKey[k], e.Code)
			}
		}
	}
	return w
}

// resolve is the normalised exact match enrichment performs: a canonical
// name wins, else an alias of exactly one entity.
func (w *worldIndex) resolve(name string) string {
	k := nameKey(name)
	if c, ok := w.byName[k]; ok {
		return c
	}
	if codes := w.byKey[k]; len(codes) == 1 {
		return codes[0]
	}
	return ""
}

func TestGazetteerSpellingsResolve(t *testing.T) {
	w := freshWorld(t)
	for name, want := range map[string]string{
		// Regions with and without the generic word, in EN/RU/BE.
		"Stavropol Territory":      "RU-STA",
		"Stavropol Krai":           "RU-STA",
		"Stavropolsky Krai":        "RU-STA",
		"Ставропольский край":      "RU-STA",
		"Могилёвская область":      "BY-MA",
		"Могилевская область":      "BY-MA",
		"Mogilev Oblast":           "BY-MA",
		"Mahilyow voblasts":        "BY-MA",
		"Магілёўская вобласць":     "BY-MA",
		"Brest Region":             "BY-BR",
		"Brest":                    "BY-BR", // the book's use
		"Tver Oblast":              "RU-TVE",
		"Tverskaya oblast":         "RU-TVE",
		"Krasnodar Territory":      "RU-KDA",
		"Republic of Tatarstan":    "RU-TA",
		"Tatarstan":                "RU-TA",
		"Chechnya":                 "RU-CE",
		"Kyiv Oblast":              "UA-32",
		"Киевская область":         "UA-32",
		"Almaty Region":            "KZ-ALM",
		"Andijan Region":           "UZ-AN",
		"Chuy Region":              "KG-C",
		"Sughd Region":             "TJ-SU",
		"Shirak Province":          "AM-SH",
		"Kakheti":                  "GE-KA",
		"Shandong Province":        "CN-SD",
		"Sichuan":                  "CN-SC",
		"Masovian Voivodeship":     "PL-14",
		"Мазовецкое воеводство":    "PL-14",
		"Jewish Autonomous Oblast": "RU-YEV",
		"Gagauzia":                 "MD-GA",
		"Soroca District":          "MD-SO",
		// Cities: centres, capitals, cities that are subdivisions.
		"Mogilev":          "BY-MA.mogilev",
		"Могилёв":          "BY-MA.mogilev",
		"Stavropol (city)": "RU-STA.stavropol",
		"Brest city":       "BY-BR.brest",
		"Minsk":            "BY-HM",
		"Минск":            "BY-HM",
		"Minsk Region":     "BY-MI",
		"Moscow":           "RU-MOW",
		"Moscow Oblast":    "RU-MOS",
		"Tbilisi":          "GE-TB",
		"Kiev":             "UA-30",
		"Kazan":            "RU-TA.kazan",
		"Yekaterinburg":    "RU-SVE.yekaterinburg",
		"Astana":           "KZ.astana",
		"Nur-Sultan":       "KZ.astana",
		"Osh":              "KG-GO",
		"Kutaisi":          "GE-IM.kutaisi",
		"Batumi":           "GE-AJ.batumi",
		"Paris":            "FR.paris",
		"Вена":             "AT.vienna",
		"Riga":             "LV-RIX",
		"Shenyang":         "CN-LN.shenyang",
		// Countries: official, former and translated names, alpha-3.
		"Kirghizia":                 "KG",
		"Byelorussia":               "BY",
		"Belorussia":                "BY",
		"Moldavia":                  "MD",
		"Republic of Moldova":       "MD",
		"Молдавия":                  "MD",
		"Киргизия":                  "KG",
		"Turkmenia":                 "TM",
		"Ukrainian SSR":             "UA",
		"Burma":                     "MM",
		"Zaire":                     "CD",
		"Russian Federation":        "RU",
		"RUS":                       "RU",
		"Iran, Islamic Republic of": "IR",
		"Германия":                  "DE",
		"Польшча":                   "PL",
		"Hong Kong":                 "CN-HK", // the book's region
		// Blocs.
		"ЕАЭС":                              "bloc.eaeu",
		"EAEU":                              "bloc.eaeu",
		"СНГ":                               "bloc.cis",
		"ОДКБ":                              "bloc.csto",
		"CSTO":                              "bloc.csto",
		"ШОС":                               "bloc.sco",
		"Shanghai Cooperation Organization": "bloc.sco",
		"ЕС":                                "bloc.eu",
		"БРИКС":                             "bloc.brics",
		"Союзное государство":               "bloc.union-state",
		"Eastern Partnership":               "bloc.eap",
		// Organisations of the book.
		"MTZ": "org.by.mtz",
		"Минский тракторный завод":                  "org.by.mtz",
		"China-Belarus Industrial Park Great Stone": "org.by.great-stone",
	} {
		if got := w.resolve(name); got != want {
			t.Errorf("%q resolves to %q, want %s (candidates %v)", name, got, want, w.byKey[nameKey(name)])
		}
	}
	for _, name := range []string{"Kabul", "Grozny"} {
		if got := w.resolve(name); got == "" {
			t.Errorf("%q no longer resolves", name)
		}
	}
}

func TestGazetteerCoverage(t *testing.T) {
	w := freshWorld(t)
	_, sum := fresh(t)
	iso, err := readISOSnapshot(filepath.Join(committedSources, "iso-codes"))
	if err != nil {
		t.Fatal(err)
	}
	countries := 0
	for _, e := range w.byCode {
		if e.Kind == bilatv1.EntityKind_ENTITY_KIND_COUNTRY {
			countries++
		}
	}
	if countries < 249 || countries != len(iso.Countries) || sum.Kinds[kindCountry] != countries {
		t.Errorf("%d countries, want all %d of ISO 3166-1 (>= 249)", countries, len(iso.Countries))
	}
	for _, c := range iso.Countries {
		e := w.byCode[c.Alpha2]
		if e.GetKind() != bilatv1.EntityKind_ENTITY_KIND_COUNTRY || !slices.Contains(e.Aliases, c.Alpha3) {
			t.Errorf("country %s: %v, want a COUNTRY with alias %s", c.Alpha2, e, c.Alpha3)
		}
	}
	perCountry := map[string]int{}
	for _, s := range iso.Subdivisions {
		perCountry[s.Code[:2]]++
		e := w.byCode[s.Code]
		if e == nil || (e.Kind != bilatv1.EntityKind_ENTITY_KIND_REGION && e.Kind != bilatv1.EntityKind_ENTITY_KIND_CITY) || e.Country != s.Code[:2] {
			t.Errorf("subdivision %s (%s) missing or wrong: %v", s.Code, s.Name, e)
		}
	}
	for _, cc := range subdivisionCountries {
		if perCountry[cc] == 0 {
			t.Errorf("no subdivisions of %s in the snapshot", cc)
		}
	}
	// Every subdivision of the countries with a hand-kept table has a row,
	// and each row has its centre, is a city, or says why it has none.
	rows, err := readHand[handRegion](filepath.Join(committedSources, handDir, fileRegions))
	if err != nil {
		t.Fatal(err)
	}
	handCountries := map[string]int{}
	for _, r := range rows {
		handCountries[r.Code[:2]]++
		e := w.byCode[r.Code]
		switch {
		case r.City:
			if e.GetKind() != bilatv1.EntityKind_ENTITY_KIND_CITY {
				t.Errorf("%s is a city subdivision but %v", r.Code, e.GetKind())
			}
		case r.Centre != "" || r.CentreCode != "":
			code := r.CentreCode
			if code == "" {
				stem, _, _ := strings.Cut(r.Centre, " (")
				code = r.Code + "." + slug(stem)
			}
			c := w.byCode[code]
			if c.GetKind() != bilatv1.EntityKind_ENTITY_KIND_CITY {
				t.Errorf("%s: centre %s is %v, want a city", r.Code, code, c)
			} else if r.CentreCode == "" && c.Parent != r.Code {
				t.Errorf("%s: centre %s has parent %s", r.Code, code, c.Parent)
			}
		case r.Note == "":
			t.Errorf("%s has no centre and no note saying why", r.Code)
		}
	}
	// These countries have a hand-kept row for every subdivision; the others
	// (AZ, LT, LV) only for some or none.
	for _, cc := range []string{"AM", "BY", "CN", "GE", "KG", "KZ", "MD", "PL", "RU", "TJ", "TM", "UA", "UZ"} {
		if handCountries[cc] != perCountry[cc] {
			t.Errorf("%s: %d hand-kept rows for %d subdivisions", cc, handCountries[cc], perCountry[cc])
		}
	}
	if sum.Centres < 200 {
		t.Errorf("%d administrative centres", sum.Centres)
	}
	capitals := 0
	for _, e := range w.byCode {
		if e.Category == "capital" {
			capitals++
		}
	}
	if capitals < 190 {
		t.Errorf("%d capitals, want every sovereign state's", capitals)
	}
}

func TestGazetteerMemberships(t *testing.T) {
	w := freshWorld(t)
	members := map[string][]string{}
	for _, e := range w.byCode {
		for _, m := range e.Memberships {
			if m.Left == nil {
				members[m.Bloc] = append(members[m.Bloc], e.Code)
			}
		}
	}
	for bloc, want := range map[string][]string{
		"bloc.eaeu":        {"AM", "BY", "KG", "KZ", "RU"},
		"bloc.union-state": {"BY", "RU"},
		"bloc.csto":        {"AM", "BY", "KG", "KZ", "RU", "TJ"},
		"bloc.sco":         {"BY", "CN", "IN", "IR", "KG", "KZ", "PK", "RU", "TJ", "UZ"},
		"bloc.brics":       {"AE", "BR", "CN", "EG", "ET", "ID", "IN", "IR", "RU", "ZA"},
		"bloc.eap":         {"AM", "AZ", "GE", "MD", "UA"},
	} {
		got := slices.Sorted(slices.Values(members[bloc]))
		if !slices.Equal(got, want) {
			t.Errorf("%s current members = %v, want %v", bloc, got, want)
		}
	}
	if n := len(members["bloc.eu"]); n != 27 {
		t.Errorf("EU has %d current members, want 27", n)
	}
	date := func(code, bloc string) (j, l *bilatv1.PartialDate) {
		for _, m := range w.byCode[code].GetMemberships() {
			if m.Bloc == bloc {
				return m.Joined, m.Left
			}
		}
		t.Errorf("%s is not in %s", code, bloc)
		return nil, nil
	}
	check := func(what string, d *bilatv1.PartialDate, y, m, day int32) {
		if d.GetYear() != y || d.GetMonth() != m || d.GetDay() != day {
			t.Errorf("%s = %v, want %d-%d-%d", what, d, y, m, day)
		}
	}
	j, l := date("GB", "bloc.eu")
	check("UK joined EU", j, 1973, 1, 1)
	check("UK left EU", l, 2020, 1, 31)
	j, _ = date("PL", "bloc.eu")
	check("Poland joined EU", j, 2004, 5, 1)
	j, _ = date("IN", "bloc.sco")
	check("India joined SCO", j, 2017, 6, 9)
	j, _ = date("BY", "bloc.sco")
	check("Belarus joined SCO", j, 2024, 7, 4)
	j, _ = date("ZA", "bloc.brics")
	check("South Africa joined BRICS", j, 2010, 12, 0)
	j, _ = date("EG", "bloc.brics")
	check("Egypt joined BRICS", j, 2024, 1, 1)
}

func TestHandRowsNeedSource(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rows.ndjson")
	if err := os.WriteFile(p, []byte(`{"country":"BY","name":"Minsk"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readHand[handCapital](p); err == nil || !strings.Contains(err.Error(), "no source") {
		t.Errorf("a row without source was accepted: %v", err)
	}
	if err := os.WriteFile(p, []byte(`{"country":"BY","name":"Minsk","source":"x","typo":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readHand[handCapital](p); err == nil {
		t.Error("a row with an unknown field was accepted")
	}
}
