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
		"Rīga":             "LV-RIX",
		"Daugavpils":       "LV-DGV",
		"Klaipeda":         "LT-KL.klaipeda",
		// Kazakhstan's regions formed in 2022, outside the iso-codes snapshot.
		"Abai Region":            "KZ-10",
		"Abay Oblast":            "KZ-10",
		"Абайская область":       "KZ-10",
		"Semey":                  "KZ-10.semey",
		"Семипалатинск":          "KZ-10.semey",
		"Zhetysu Region":         "KZ-33",
		"Jetisu Region":          "KZ-33",
		"Жетысуская область":     "KZ-33",
		"область Жетісу":         "KZ-33",
		"Taldykorgan":            "KZ-33.taldykorgan",
		"Ulytau Region":          "KZ-62",
		"Улытауская область":     "KZ-62",
		"Zhezkazgan":             "KZ-62.zhezkazgan",
		"Джезказган":             "KZ-62.zhezkazgan",
		"East Kazakhstan Region": "KZ-VOS",
		// Azerbaijan's rayons: the district is named with its type, a bare
		// name is the town; iso-codes' names still resolve.
		"Absheron District": "AZ-ABS",
		"Abşeron Rayon":     "AZ-ABS",
		"Абшеронский район": "AZ-ABS",
		"Xırdalan":          "AZ-ABS.khirdalan",
		"Gabala District":   "AZ-QAB",
		"Qəbələ":            "AZ-QAB.gabala",
		"Габала":            "AZ-QAB.gabala",
		"Samukh District":   "AZ-SMX",
		"Nabiagali":         "AZ-SMX.nabiagali",
		"Shaki District":    "AZ-SAK",
		"Şəki":              "AZ-SA",
		"Lənkəran Rayon":    "AZ-LAN",
		"Lankaran":          "AZ-LA",
		"Агдашский район":   "AZ-AGS",
		"Shusha":            "AZ-SUS.shusha",
		// Latvia's 2009 municipalities and republican cities.
		"Cēsis Municipality":      "LV-022",
		"Cesis Municipality":      "LV-022",
		"Cēsu novads":             "LV-022",
		"Цесисский край":          "LV-022",
		"Cēsis":                   "LV-022.cesis",
		"Цесис":                   "LV-022.cesis",
		"Daugavpils Municipality": "LV-025",
		"Stopiņi Municipality":    "LV-095",
		"Ulbroka":                 "LV-095.ulbroka",
		"Priekuļi Municipality":   "LV-075",
		"Priekule Municipality":   "LV-074",
		"Liepāja":                 "LV-LPX",
		"Лиепая":                  "LV-LPX",
		// Centres of 2009 municipalities not named after a town, and the
		// municipalities of the 2021 division with new codes.
		"Drabeši":                    "LV-008.drabesi",
		"Vecvārkava":                 "LV-103.vecvarkava",
		"Augšdaugava Municipality":   "LV-111",
		"Augšdaugavas novads":        "LV-111",
		"South Kurzeme Municipality": "LV-112",
		"Dienvidkurzemes novads":     "LV-112",
		"Valmiera Municipality":      "LV-113",
		"Valmieras novads":           "LV-113",
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
	rowOf := map[string]handRegion{}
	isoCodes := map[string]bool{}
	for _, s := range iso.Subdivisions {
		isoCodes[s.Code] = true
	}
	for _, r := range rows {
		rowOf[r.Code] = r
		if isoCodes[r.Code] {
			handCountries[r.Code[:2]]++
		} else if r.NotInSnapshot == "" {
			t.Errorf("%s is neither in the snapshot nor marked not_in_snapshot", r.Code)
		}
		e := w.byCode[r.Code]
		if e.GetCountry() != r.Code[:2] || (e.GetKind() != bilatv1.EntityKind_ENTITY_KIND_REGION && e.GetKind() != bilatv1.EntityKind_ENTITY_KIND_CITY) {
			t.Errorf("hand-kept subdivision %s: %v", r.Code, e)
		}
		switch {
		case r.City:
			if e.GetKind() != bilatv1.EntityKind_ENTITY_KIND_CITY {
				t.Errorf("%s is a city subdivision but %v", r.Code, e.GetKind())
			}
		case r.Centre != "" || r.CentreCode != "":
			code := r.CentreCode
			if code == "" {
				stem, _, _ := strings.Cut(r.Centre, " (")
				code = r.Code + "." + placeSlug(stem)
			}
			c := w.byCode[code]
			if c.GetKind() != bilatv1.EntityKind_ENTITY_KIND_CITY {
				t.Errorf("%s: centre %s is %v, want a city", r.Code, code, c)
			} else if r.CentreCode == "" && c.Parent != r.Code {
				t.Errorf("%s: centre %s has parent %s", r.Code, code, c.Parent)
			}
		case !strings.Contains(strings.ToLower(r.Note), "centre"):
			t.Errorf("%s has no centre and no note saying why", r.Code)
		}
	}
	// Every subdivision of the covered countries has a hand-kept row, and so
	// a centre or a documented reason for none (checked above).
	for _, cc := range subdivisionCountries {
		if handCountries[cc] != perCountry[cc] {
			t.Errorf("%s: %d hand-kept rows for %d subdivisions", cc, handCountries[cc], perCountry[cc])
		}
	}
	for _, s := range iso.Subdivisions {
		if _, ok := rowOf[s.Code]; !ok {
			t.Errorf("subdivision %s (%s, %s) has no hand-kept row: no centre and no reason", s.Code, s.Name, s.Type)
		}
	}
	// Kazakhstan's regions formed in 2022 are outside the 4.15 snapshot.
	for _, code := range []string{"KZ-10", "KZ-33", "KZ-62"} {
		if r, ok := rowOf[code]; !ok || r.NotInSnapshot == "" || isoCodes[code] || r.Centre == "" {
			t.Errorf("%s: want a hand-kept row with centre, marked not_in_snapshot (snapshot has it: %v)", code, isoCodes[code])
		}
	}
	// Latvia's municipalities of the 2021 division with new codes (LV-111
	// Augšdaugava, LV-112 South Kurzeme, LV-113 Valmiera) are outside the
	// snapshot too; each points at an existing city as its centre.
	for code, centre := range map[string]string{"LV-111": "LV-DGV", "LV-112": "LV-032.grobina", "LV-113": "LV-VMR"} {
		if r, ok := rowOf[code]; !ok || r.NotInSnapshot == "" || isoCodes[code] || r.CentreCode != centre {
			t.Errorf("%s: want a hand-kept row with centre %s, marked not_in_snapshot (snapshot has it: %v)", code, centre, isoCodes[code])
		}
	}
	if want := len(iso.Subdivisions) + 6; sum.Subdivisions != want {
		t.Errorf("summary counts %d subdivisions, want %d", sum.Subdivisions, want)
	}
	if sum.Centres < 420 {
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

func TestPlaceSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Klaipėda": "klaipeda", "Xırdalan": "xirdalan", "Cēsis": "cesis", "Ağdam": "agdam",
		"Şəki": "saki", "Pļaviņas": "plavinas", "Łódź": "lodz", "Kazan": "kazan",
	} {
		if got := placeSlug(in); got != want {
			t.Errorf("placeSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHandRegionOutsideSnapshot(t *testing.T) {
	for _, tc := range []struct{ row, want string }{
		{`{"code":"KZ-99","name":"Nowhere Region","type":"oblast","source":"test"}`, "not a first-level subdivision"},
		{`{"code":"KZ-PAV","name":"Pavlodar Region","type":"oblast","not_in_snapshot":"x","source":"test"}`, "marked not_in_snapshot"},
		{`{"code":"FR-99","name":"Nowhere","type":"region","not_in_snapshot":"x","source":"test"}`, "covered country"},
	} {
		dir := t.TempDir()
		iso := filepath.Join(dir, "iso-codes")
		if err := os.CopyFS(iso, os.DirFS(filepath.Join(committedSources, "iso-codes"))); err != nil {
			t.Fatal(err)
		}
		hd := filepath.Join(dir, handDir)
		if err := os.CopyFS(hd, os.DirFS(filepath.Join(committedSources, handDir))); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(hd, fileRegions)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(data, []byte(tc.row+"\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := buildWorld(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("row %s: err = %v, want %q", tc.row, err, tc.want)
		}
	}
}
