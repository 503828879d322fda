package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// The world part of the gazetteer: every ISO 3166-1 country, the first-level
// subdivisions of subdivisionCountries with their administrative centres,
// the world's capitals and the blocs with their members. It comes from the
// iso-codes snapshot plus hand-kept tables under gazetteer/sources/hand,
// each row of which names its source.
const (
	handDir         = "hand"
	fileRegions     = "regions.ndjson"
	fileCapitals    = "capitals.ndjson"
	fileCountries   = "countries.ndjson"
	fileBlocs       = "blocs.ndjson"
	fileMemberships = "memberships.ndjson"
)

// handRegion is a first-level subdivision: its usual English name, the stem
// the generic-word forms are built from, the Russian name, and its
// administrative centre. City marks subdivisions that are cities themselves
// (Minsk BY-HM, Moscow RU-MOW): they are CITY entities and have no centre.
type handRegion struct {
	Code          string   `json:"code"`
	Name          string   `json:"name"`
	Stem          string   `json:"stem,omitempty"`
	Type          string   `json:"type"`
	RU            string   `json:"ru,omitempty"`
	BE            string   `json:"be,omitempty"`
	Aliases       []string `json:"aliases,omitempty"`
	Drop          []string `json:"drop,omitempty"`
	City          bool     `json:"city,omitempty"`
	Centre        string   `json:"centre,omitempty"`
	CentreRU      string   `json:"centre_ru,omitempty"`
	CentreAliases []string `json:"centre_aliases,omitempty"`
	// CentreCode names an existing entity as the centre (Kyiv Oblast's
	// centre is the city of Kyiv, UA-30) instead of a new "<code>.<slug>".
	CentreCode string `json:"centre_code,omitempty"`
	// NotInSnapshot says why a subdivision is missing from the iso-codes
	// snapshot (Kazakhstan's regions formed in 2022); only such rows may
	// name a code the snapshot lacks.
	NotInSnapshot string `json:"not_in_snapshot,omitempty"`
	Source        string `json:"source"`
	Note          string `json:"note,omitempty"`
}

type handCapital struct {
	Country string   `json:"country"`
	Name    string   `json:"name"`
	RU      string   `json:"ru,omitempty"`
	Aliases []string `json:"aliases,omitempty"`
	// Code of the capital when it is an entity of its own already (an
	// ISO 3166-2 city or an administrative centre); else "<CC>.<slug>".
	Code   string `json:"code,omitempty"`
	Source string `json:"source"`
	Note   string `json:"note,omitempty"`
}

// handCountry adds names to an ISO 3166-1 country (former and Soviet-era
// names, usual short forms) and may replace its canonical name.
type handCountry struct {
	Country string   `json:"country"`
	Name    string   `json:"name,omitempty"`
	Aliases []string `json:"aliases"`
	Source  string   `json:"source"`
	Note    string   `json:"note,omitempty"`
}

type handBloc struct {
	Code     string   `json:"code"`
	Name     string   `json:"name"`
	Aliases  []string `json:"aliases"`
	Category string   `json:"category,omitempty"`
	Parent   string   `json:"parent,omitempty"`
	Source   string   `json:"source"`
	Note     string   `json:"note,omitempty"`
}

type handMembership struct {
	Country string `json:"country"`
	Bloc    string `json:"bloc"`
	Joined  string `json:"joined"`
	Left    string `json:"left,omitempty"`
	Source  string `json:"source"`
	Note    string `json:"note,omitempty"`
}

// world is what the sources contribute to the gazetteer.
type world struct {
	iso         *isoSnapshot
	entities    []*bilatv1.Entity
	memberships map[string][]*bilatv1.Membership
	// centres maps a subdivision's code to its administrative centre's code.
	centres map[string]string
	// cityRegions are the subdivisions that are cities themselves.
	cityRegions []string
	// extraSubdivisions are the hand-kept subdivisions the snapshot lacks.
	extraSubdivisions []string
}

func readHand[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hand-kept table: %w", err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var row T
		if err := dec.Decode(&row); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		// Every hand-kept row must say where it comes from.
		var src struct{ Source string }
		if err := json.Unmarshal(line, &src); err != nil || strings.TrimSpace(src.Source) == "" {
			return nil, fmt.Errorf("%s:%d: row has no source", path, n)
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// genericForms are the English names a subdivision is met under, built from
// its stem and the generic word(s) of its type.
var genericForms = map[string][]string{
	"oblast":              {"%s Oblast", "%s Region"},
	"krai":                {"%s Krai", "%s Kray", "%s Territory", "%s Region"},
	"republic":            {"Republic of %s", "%s Republic", "%s"},
	"autonomous_okrug":    {"%s Autonomous Okrug", "%s Autonomous District", "%s Autonomous Area"},
	"autonomous_oblast":   {"%s Autonomous Oblast", "%s Autonomous Region"},
	"city":                {"%s", "%s City", "City of %s"},
	"province":            {"%s Province", "%s"},
	"autonomous_region":   {"%s Autonomous Region", "%s"},
	"municipality":        {"%s Municipality", "%s"},
	"sar":                 {"%s SAR", "%s Special Administrative Region"},
	"voivodeship":         {"%s Voivodeship", "%s Province"},
	"region":              {"%s Region", "%s Province"},
	"marz":                {"%s Province", "%s Region", "%s Marz"},
	"autonomous_republic": {"Autonomous Republic of %s", "%s"},
	"raion":               {"%s District", "%s Raion", "%s Rayon"},
	"county":              {"%s County"},
	"novads":              {"%s Municipality"},
	// Lithuania's municipalities (savivaldybės) by their ISO 3166-2 type.
	"district_municipality": {"%s District Municipality", "%s District"},
	"city_municipality":     {"%s City Municipality"},
	"districts":             nil,
}

// romanVariants gives the forms of an iso-codes romanisation that English
// texts use: "Stavropol'skij kraj" -> "Stavropolsky krai",
// "Dagestan, Respublika" -> "Respublika Dagestan".
func romanVariants(s string) []string {
	out := []string{s}
	if stem, ok := strings.CutSuffix(s, ", Respublika"); ok {
		out = append(out, "Respublika "+stem)
	}
	r := strings.NewReplacer("skij ", "sky ", "skiy ", "sky ", "kraj", "krai", "kray", "krai", "aja", "aya",
		"ja", "ya", "je", "ye", "ju", "yu", "jo", "yo", "avtonomnyj", "avtonomny", "'", "")
	for _, v := range slices.Clone(out) {
		out = append(out, r.Replace(v))
	}
	return out
}

// cityForms are a city's names with the generic word: "Kazan city",
// "City of Kazan", "город Казань", "г. Казань".
func cityForms(name, ru string) []string {
	stem, _, _ := strings.Cut(name, " (")
	var out []string
	if !strings.HasSuffix(stem, " City") && !strings.HasPrefix(stem, "City of ") {
		out = append(out, stem+" city", "City of "+stem)
	}
	if ru != "" && !strings.Contains(ru, " ") {
		out = append(out, "город "+ru, "г. "+ru)
	}
	return out
}

// districtSuffix names the iso-codes types whose entries are districts
// around a town of the same name (Lithuania's "Vilnius" district
// municipality, Azerbaijan's rayons, Moldova's raions).
var districtSuffix = map[string]string{
	"District municipality": " District Municipality",
	"Rayon":                 " Rayon",
	"District":              " District",
}

// latinFold spells the Latin letters with diacritics of the covered
// countries' place names (Lithuanian, Latvian, Azerbaijani, Polish,
// Turkmen, Uzbek) in plain ASCII, for codes.
var latinFold = strings.NewReplacer(
	"ā", "a", "ą", "a", "ä", "a", "á", "a", "č", "c", "ć", "c", "ç", "c", "ē", "e", "ė", "e", "ę", "e", "é", "e", "ə", "a",
	"ģ", "g", "ğ", "g", "ī", "i", "į", "i", "ı", "i", "İ", "I", "ķ", "k", "ļ", "l", "ł", "l", "ņ", "n", "ń", "n", "ň", "n",
	"ó", "o", "ö", "o", "õ", "o", "ō", "o", "š", "s", "ś", "s", "ş", "s", "ū", "u", "ų", "u", "ü", "u", "ž", "z", "ź", "z",
	"ż", "z", "ý", "y", "Ā", "A", "Č", "C", "Ē", "E", "Ģ", "G", "Ī", "I", "Ķ", "K", "Ļ", "L", "Ł", "L", "Ņ", "N", "Ö", "O",
	"Š", "S", "Ş", "S", "Ū", "U", "Ü", "U", "Ž", "Z", "Ż", "Z", "Ə", "A",
)

// placeSlug is slug for place names: "Klaipėda" -> "klaipeda", not
// "klaip-da".
func placeSlug(s string) string { return slug(latinFold.Replace(s)) }

// russianRomanised are the countries whose iso-codes subdivision names are
// (GOST-like) romanisations of Russian, which romanVariants respells.
var russianRomanised = []string{"BY", "KG", "KZ", "RU"}

func buildWorld(sources string) (*world, error) {
	iso, err := readISOSnapshot(filepath.Join(sources, "iso-codes"))
	if err != nil {
		return nil, err
	}
	hd := filepath.Join(sources, handDir)
	regions, err := readHand[handRegion](filepath.Join(hd, fileRegions))
	if err != nil {
		return nil, err
	}
	capitals, err := readHand[handCapital](filepath.Join(hd, fileCapitals))
	if err != nil {
		return nil, err
	}
	countries, err := readHand[handCountry](filepath.Join(hd, fileCountries))
	if err != nil {
		return nil, err
	}
	blocs, err := readHand[handBloc](filepath.Join(hd, fileBlocs))
	if err != nil {
		return nil, err
	}
	members, err := readHand[handMembership](filepath.Join(hd, fileMemberships))
	if err != nil {
		return nil, err
	}
	w := &world{iso: iso, memberships: map[string][]*bilatv1.Membership{}, centres: map[string]string{}}
	tr := func(code, lang, field string) string { return iso.Translations[code][lang][field] }

	// Countries.
	current := map[string]bool{}
	for _, c := range iso.Countries {
		current[c.Alpha2] = true
	}
	hand := map[string][]handCountry{}
	for _, h := range countries {
		if !current[h.Country] {
			return nil, fmt.Errorf("%s: unknown country %q", fileCountries, h.Country)
		}
		hand[h.Country] = append(hand[h.Country], h)
	}
	former := map[string][]string{}
	for _, f := range iso.Former {
		// Only a former name with one current successor (alpha-4 ends in
		// its alpha-2) denotes a country of today; "HH"/"XX" mark splits.
		succ := f.Alpha4[2:]
		if !current[succ] {
			continue
		}
		short, _, _ := strings.Cut(f.Name, ",")
		former[succ] = appendUnique(former[succ], f.Name, short, tr(f.Alpha4, "ru", "name"), tr(f.Alpha4, "be", "name"))
	}
	for _, c := range iso.Countries {
		name := c.Name
		if c.CommonName != "" {
			name = c.CommonName
		}
		var extra []string
		for _, h := range hand[c.Alpha2] {
			if h.Name != "" {
				name = h.Name
			}
			extra = append(extra, h.Aliases...)
		}
		al := appendUnique(nil, name, c.Name, c.OfficialName, c.CommonName)
		for _, lang := range translationLangs {
			for _, f := range []string{"common_name", "name", "official_name"} {
				al = appendUnique(al, tr(c.Alpha2, lang, f))
			}
		}
		al = appendUnique(al, c.Alpha3)
		al = appendUnique(al, former[c.Alpha2]...)
		al = appendUnique(al, extra...)
		w.entities = append(w.entities, &bilatv1.Entity{Code: c.Alpha2, Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: name, Aliases: al})
	}

	// Subdivisions and their centres.
	subs := map[string]isoSubdivision{}
	for _, s := range iso.Subdivisions {
		subs[s.Code] = s
	}
	handRegions := map[string]bool{}
	for _, r := range regions {
		s, ok := subs[r.Code]
		switch {
		case !ok && r.NotInSnapshot == "":
			return nil, fmt.Errorf("%s: %s is not a first-level subdivision in the iso-codes snapshot", fileRegions, r.Code)
		case ok && r.NotInSnapshot != "":
			return nil, fmt.Errorf("%s: %s is in the iso-codes snapshot but marked not_in_snapshot", fileRegions, r.Code)
		case !ok:
			if !reISO31662.MatchString(r.Code) || !slices.Contains(subdivisionCountries, r.Code[:2]) {
				return nil, fmt.Errorf("%s: %s: a subdivision outside the snapshot needs an ISO 3166-2 code of a covered country", fileRegions, r.Code)
			}
			w.extraSubdivisions = append(w.extraSubdivisions, r.Code)
		}
		if handRegions[r.Code] {
			return nil, fmt.Errorf("%s: %s listed twice", fileRegions, r.Code)
		}
		handRegions[r.Code] = true
		forms, ok := genericForms[r.Type]
		if !ok {
			return nil, fmt.Errorf("%s: %s: unknown type %q", fileRegions, r.Code, r.Type)
		}
		cc := r.Code[:2]
		al := appendUnique(nil, r.Name)
		if r.Stem != "" {
			for _, f := range forms {
				al = appendUnique(al, fmt.Sprintf(f, r.Stem))
			}
		}
		al = appendUnique(al, r.Aliases...)
		al = appendUnique(al, r.RU, r.BE, tr(r.Code, "ru", "name"), tr(r.Code, "be", "name"))
		if slices.Contains(russianRomanised, cc) {
			al = appendUnique(al, romanVariants(s.Name)...)
		} else {
			al = appendUnique(al, s.Name)
		}
		e := &bilatv1.Entity{Code: r.Code, Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: r.Name, Parent: cc, Country: cc}
		var centre *bilatv1.Entity
		switch {
		case r.City:
			e.Kind = bilatv1.EntityKind_ENTITY_KIND_CITY
			al = appendUnique(al, r.CentreAliases...)
			al = appendUnique(al, cityForms(r.Name, r.RU)...)
			w.cityRegions = append(w.cityRegions, r.Code)
		case r.CentreCode != "":
			w.centres[r.Code] = r.CentreCode
			if r.Centre != "" || r.CentreRU != "" || len(r.CentreAliases) > 0 {
				centre = &bilatv1.Entity{Code: r.CentreCode, Kind: bilatv1.EntityKind_ENTITY_KIND_CITY, Name: r.Centre,
					Aliases: appendUnique(nil, slices.Concat([]string{r.Centre, r.CentreRU}, r.CentreAliases, cityForms(r.Centre, r.CentreRU))...),
					Parent:  r.Code, Country: cc}
			}
		case r.Centre != "":
			if r.CentreRU == "" {
				return nil, fmt.Errorf("%s: %s: centre %q has no Russian name", fileRegions, r.Code, r.Centre)
			}
			// "Brest (city)" -> "BY-BR.brest": the bracket only keeps the
			// canonical name apart from the region's.
			stem, _, _ := strings.Cut(r.Centre, " (")
			centre = &bilatv1.Entity{Code: r.Code + "." + placeSlug(stem), Kind: bilatv1.EntityKind_ENTITY_KIND_CITY, Name: r.Centre,
				Aliases: appendUnique(nil, slices.Concat([]string{r.Centre, r.CentreRU}, r.CentreAliases, cityForms(r.Centre, r.CentreRU))...),
				Parent:  r.Code, Country: cc}
			w.centres[r.Code] = centre.Code
		}
		// A region does not take a spelling of its own centre ("Andijon"
		// is the city, "Andijan Region" the region), nor the listed drops.
		drop := map[string]bool{}
		for _, d := range r.Drop {
			drop[nameKey(d)] = true
		}
		if centre != nil {
			for _, a := range centre.Aliases {
				drop[nameKey(a)] = true
			}
		}
		e.Aliases = nil
		for _, a := range al {
			if !drop[nameKey(a)] || nameKey(a) == nameKey(r.Name) {
				e.Aliases = appendUnique(e.Aliases, a)
			}
		}
		w.entities = append(w.entities, e)
		if centre != nil {
			w.entities = append(w.entities, centre)
		}
	}
	// Subdivisions without a hand-kept row carry their iso-codes names only;
	// where a city and the district around it share a name (Azerbaijan's
	// Lənkəran), the canonical name adds the ISO type.
	isoNames := map[string]int{}
	trCount := map[string]int{}
	for _, s := range iso.Subdivisions {
		isoNames[nameKey(s.Name)]++
		for _, lang := range translationLangs {
			if t := tr(s.Code, lang, "name"); t != "" {
				trCount[nameKey(t)]++
			}
		}
	}
	cityKeys := map[string]bool{}
	for _, c := range capitals {
		for _, a := range slices.Concat([]string{c.Name, c.RU}, c.Aliases) {
			cityKeys[nameKey(a)] = true
		}
	}
	for _, r := range regions {
		for _, a := range slices.Concat([]string{r.Centre, r.CentreRU}, r.CentreAliases) {
			cityKeys[nameKey(a)] = true
		}
	}
	// iso-codes gives a few translations to two subdivisions (a city and
	// its district), or a city's name to the municipality around it: such
	// translations are left out, as they would make the name ambiguous.
	trOK := func(t string) string {
		if k := nameKey(t); trCount[k] > 1 || cityKeys[k] {
			return ""
		}
		return t
	}
	for _, s := range iso.Subdivisions {
		if handRegions[s.Code] {
			continue
		}
		cc := s.Code[:2]
		name, al := s.Name, []string{s.Name}
		if suffix, ok := districtSuffix[s.Type]; ok {
			// A bare name is the town; the district is named with its type.
			name = s.Name + suffix
			al = []string{name}
		} else if isoNames[nameKey(s.Name)] > 1 {
			name = s.Name + " (" + strings.ToLower(s.Type) + ")"
			al = append(al, name)
		}
		al = appendUnique(al, trOK(tr(s.Code, "ru", "name")), trOK(tr(s.Code, "be", "name")))
		w.entities = append(w.entities, &bilatv1.Entity{Code: s.Code, Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: name,
			Aliases: al, Parent: cc, Country: cc, Category: strings.ToLower(s.Type)})
	}

	// Capitals.
	seenCap := map[string]bool{}
	for _, c := range capitals {
		if !current[c.Country] {
			return nil, fmt.Errorf("%s: unknown country %q", fileCapitals, c.Country)
		}
		if seenCap[c.Country] {
			return nil, fmt.Errorf("%s: two capitals for %s", fileCapitals, c.Country)
		}
		seenCap[c.Country] = true
		code := c.Code
		if code == "" {
			code = c.Country + "." + slug(c.Name)
		}
		w.entities = append(w.entities, &bilatv1.Entity{Code: code, Kind: bilatv1.EntityKind_ENTITY_KIND_CITY, Name: c.Name,
			Aliases: appendUnique(nil, slices.Concat([]string{c.Name, c.RU}, c.Aliases, cityForms(c.Name, c.RU))...), Parent: c.Country, Country: c.Country,
			Category: "capital"})
	}

	// Blocs and memberships.
	for _, b := range blocs {
		w.entities = append(w.entities, &bilatv1.Entity{Code: b.Code, Kind: bilatv1.EntityKind_ENTITY_KIND_BLOC, Name: b.Name,
			Aliases: appendUnique([]string{b.Name}, b.Aliases...), Parent: b.Parent, Category: b.Category, Side: "multilateral"})
	}
	for _, m := range members {
		joined, err := parsePartialDate(m.Joined)
		if err != nil || joined == nil {
			return nil, fmt.Errorf("%s: %s in %s: joined %q: %v", fileMemberships, m.Country, m.Bloc, m.Joined, err)
		}
		left, err := parsePartialDate(m.Left)
		if err != nil {
			return nil, fmt.Errorf("%s: %s in %s: %w", fileMemberships, m.Country, m.Bloc, err)
		}
		if slices.ContainsFunc(w.memberships[m.Country], func(x *bilatv1.Membership) bool { return x.Bloc == m.Bloc }) {
			return nil, fmt.Errorf("%s: %s in %s listed twice", fileMemberships, m.Country, m.Bloc)
		}
		if left != nil && (left.Year < joined.Year || left.Year == joined.Year && left.Month != 0 && left.Month < joined.Month) {
			return nil, fmt.Errorf("%s: %s in %s: left %s before joining %s", fileMemberships, m.Country, m.Bloc, m.Left, m.Joined)
		}
		w.memberships[m.Country] = append(w.memberships[m.Country], &bilatv1.Membership{Bloc: m.Bloc, Joined: joined, Left: left})
	}
	return w, nil
}

// merge adds the world's entities to the book's. An entity the book already
// has keeps its code, kind, name and parent (only a parent that is just the
// country is refined to a region) and gains the world's spellings; the
// world's name becomes an alias.
func (g *gazetteer) merge(w *world) {
	byCode := map[string]*bilatv1.Entity{}
	for _, e := range g.entities {
		byCode[e.Code] = e
	}
	for _, e := range w.entities {
		old := byCode[e.Code]
		if old == nil {
			g.entities = append(g.entities, e)
			byCode[e.Code] = e
			continue
		}
		old.Aliases = appendUnique(old.Aliases, e.Name)
		old.Aliases = appendUnique(old.Aliases, e.Aliases...)
		if old.Country == "" {
			old.Country = e.Country
		}
		if old.Category == "" && e.Kind == old.Kind {
			old.Category = e.Category
		}
		if e.Parent != "" && old.Parent == old.Country && e.Parent != old.Parent && strings.HasPrefix(e.Parent, old.Country+"-") {
			old.Parent = e.Parent
		}
	}
	slices.SortFunc(g.entities, func(a, b *bilatv1.Entity) int { return strings.Compare(a.Code, b.Code) })
}
