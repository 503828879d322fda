package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// blocCodes names the book's blocs (and the EU initiative the book treats as
// one) by the codes of DESIGN.md §2.
var blocCodes = map[string]string{
	"Commonwealth of Independent States": "bloc.cis",
	"Union State of Belarus and Russia":  "bloc.union-state",
	"European Union":                     "bloc.eu",
	"Eastern Partnership":                "bloc.eap",
}

// subCodes gives the slug of entities below a region or country that have no
// ISO 3166-2 code (cities, federal districts, districts); the code is
// "<parent code>.<slug>". Names not listed get slug(canonical).
var subCodes = map[string]string{
	"North Caucasus Federal District":                         "ncfd",
	"Central, Ural, Volga and Northwestern Federal Districts": "central-ural-volga-northwestern-fds",
	"Stavropol (city)":                                        "stavropol",
	"Buynaksky District":                                      "buynaksky",
	"Glubokoe District Executive Committee":                   "glubokoe",
	"Telavi municipality":                                     "telavi",
}

// regionCategory marks region-kind entities that are not ISO 3166-2 first-level
// subdivisions.
var regionCategory = map[string]string{
	"North Caucasus Federal District":                         "federal_district",
	"Central, Ural, Volga and Northwestern Federal Districts": "federal_district",
	"Buynaksky District":                                      "district",
	"Glubokoe District Executive Committee":                   "district",
}

// orgSlugs shortens organisation codes where the generated slug would be
// unwieldy; acronyms are the organisations' own where they have one.
var orgSlugs = map[string]string{
	"National Academy of Sciences of Belarus":                                                           "nasb",
	"Institute of Physics of the NAS of Belarus":                                                        "nasb-institute-of-physics",
	"Institute of Economics of the NAS of Belarus":                                                      "nasb-institute-of-economics",
	"Central Botanical Garden of the NAS of Belarus":                                                    "nasb-central-botanical-garden",
	"Belarusian State University":                                                                       "bsu",
	"Belarusian State University of Informatics and Radioelectronics":                                   "bsuir",
	"University of Civil Defense of the Ministry of Emergency Situations of Belarus":                    "university-of-civil-defense",
	"Belarusian Chamber of Commerce and Industry":                                                       "belcci",
	"China-Belarus Industrial Park Great Stone":                                                         "great-stone",
	"Working Group on the Preparation of the Draft Economic Development Strategy of the CIS until 2030": "cis-strategy-2030-working-group",
	"Council for Interregional and Border Cooperation of the CIS Member States":                         "cis-council-interregional-border-cooperation",
	"Interparliamentary Assembly of the CIS Member States":                                              "cis-interparliamentary-assembly",
	"Intergovernmental Belarusian-Georgian Commission for Economic Cooperation":                         "by-ge-economic-commission",
	"Belarusian-Georgian commission for scientific and technical cooperation":                           "by-ge-st-commission",
	"Belarus-Afghanistan Joint Committee on Trade and Economic Cooperation":                             "by-af-joint-committee",
	"China-Belarus intergovernmental cooperation committee":                                             "by-cn-intergovernmental-committee",
	"Sino-Belarusian Center for Cooperation in Science and Technology Transformation":                   "sino-belarusian-st-transformation-centre",
	"Sino-Belarusian centre for incubation of innovation projects":                                      "sino-belarusian-incubation-centre",
	"Chinese Academy of Social Sciences":                                                                "cass",
	"Institute of World Economy and Politics of the Chinese Academy of Social Sciences":                 "cass-institute-of-world-economy-and-politics",
	"Academy of Sciences of Shandong Province":                                                          "shandong-academy-of-sciences",
	"Institute of Laser Research of the Academy of Sciences of Shandong Province":                       "shandong-academy-laser-institute",
	"Institute of Phytopathology and Biodiversity of Batumi State University":                           "batumi-state-university-phytopathology-institute",
	"Center for Belarusian Studies (Sichuan University of Foreign Languages)":                           "sichuan-center-for-belarusian-studies",
	"University of Science and Technology in Hong Kong":                                                 "hkust",
	"BSU-Dalian Polytechnic University joint institute":                                                 "bsu-dalian-joint-institute",
	"Institute for Public Safety Research of Tsinghua University":                                       "tsinghua-institute-for-public-safety-research",
	"Belarus-Tajikistan-Afghanistan International Business Forum":                                       "by-tj-af-business-forum",
	"China-Belarus Hi-Tech Aerospace Research and Development Centre":                                   "china-belarus-aerospace-rd-centre",
	"Belarus-China Youth Innovation Forum New Horizons":                                                 "new-horizons-youth-innovation-forum",
}

// parentOverrides corrects or completes the book's parents: cities the book
// hangs directly on Georgia sit in a first-level region (DESIGN.md's own
// example is "GE-AJ.batumi"), and the organs of the CIS and the Union State
// belong to their bloc.
var parentOverrides = map[string]string{
	"Batumi":                             "GE-AJ",
	"Kutaisi":                            "GE-IM",
	"Telavi municipality":                "GE-KA",
	"CIS Council of Heads of State":      "bloc.cis",
	"CIS Council of Heads of Government": "bloc.cis",
	"Council for Interregional and Border Cooperation of the CIS Member States":                         "bloc.cis",
	"Working Group on the Preparation of the Draft Economic Development Strategy of the CIS until 2030": "bloc.cis",
	"Interparliamentary Assembly of the CIS Member States":                                              "bloc.cis",
	"Forum of CIS Regions":                    "bloc.cis",
	"Council of Ministers of the Union State": "bloc.union-state",
	"Standing Committee of the Union State":   "bloc.union-state",
	"Eastern Partnership":                     "bloc.eu",
}

// extraAliases are spellings the book's agreement rows use for an entity
// (party names) and the Russian, Belarusian and native names of the main
// partners, so that Cyrillic sources resolve too.
var extraAliases = map[string][]string{
	"Belarus":                               {"Беларусь", "Республика Беларусь", "Белоруссия", "Рэспубліка Беларусь"},
	"Russia":                                {"Россия", "Российская Федерация"},
	"Georgia":                               {"Грузия", "საქართველო"},
	"China":                                 {"Китай", "Китайская Народная Республика", "КНР", "中国"},
	"Afghanistan":                           {"Афганистан", "Исламская Республика Афганистан"},
	"Kazakhstan":                            {"Казахстан", "Республика Казахстан"},
	"Commonwealth of Independent States":    {"CIS Member States", "СНГ", "Содружество Независимых Государств"},
	"Union State of Belarus and Russia":     {"Союзное государство"},
	"North Caucasus Federal District":       {"Северо-Кавказский федеральный округ", "СКФО"},
	"Stavropol Krai":                        {"Ставропольский край"},
	"Chechen Republic":                      {"Чеченская Республика", "Чечня"},
	"Republic of Dagestan":                  {"Республика Дагестан", "Дагестан"},
	"Tbilisi":                               {"Тбилиси", "თბილისი"},
	"Minsk":                                 {"Минск", "Мінск"},
	"Minsk Region":                          {"Minsk Region (Minsk Region Days)", "Минская область"},
	"Brest Region":                          {"Brest regional executive committee", "Брестская область"},
	"Gomel Region":                          {"Gomel regional executive committee", "Гомельская область"},
	"Mogilev Region":                        {"Могилёвская область", "Магілёўская вобласць"},
	"Mogilev":                               {"Могилёв", "Магілёў"},
	"Vitebsk Region":                        {"Витебская область"},
	"Glubokoe District Executive Committee": {"Glubokoe District Executive Committee of the Vitebsk Region"},
	"Government of the Republic of Belarus": {"Minsk (Belarusian government)", "Правительство Республики Беларусь"},
	"Government of the Islamic Republic of Afghanistan": {"Kabul (Afghan government)"},
	"Minsk Tractor Works (MTZ)":                         {"Минский тракторный завод", "МТЗ"},
	"Minsk Automobile Plant (MAZ)":                      {"Минский автомобильный завод", "МАЗ"},
}

// supplementEntities are entities the book does not list but that the data
// needs: the EAEU, the first-level regions that are parents of the book's
// cities, the remaining Belarusian region, and a party the agreements name.
func supplementEntities() []*bilatv1.Entity {
	return []*bilatv1.Entity{
		{Code: "bloc.eaeu", Kind: bilatv1.EntityKind_ENTITY_KIND_BLOC, Name: "Eurasian Economic Union",
			Aliases: []string{"Eurasian Economic Union", "EAEU", "Евразийский экономический союз", "ЕАЭС"},
			Side:    "multilateral"},
		{Code: "GE-AJ", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Adjara",
			Aliases: []string{"Adjara", "Autonomous Republic of Adjara", "Ajaria", "Аджария"}, Parent: "GE", Country: "GE", Side: "partner"},
		{Code: "GE-IM", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Imereti",
			Aliases: []string{"Imereti", "Имеретия"}, Parent: "GE", Country: "GE", Side: "partner"},
		{Code: "GE-KA", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Kakheti",
			Aliases: []string{"Kakheti", "Кахетия"}, Parent: "GE", Country: "GE", Side: "partner"},
		{Code: "CN-LN", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Liaoning Province",
			Aliases: []string{"Liaoning Province", "Liaoning", "Провинция Ляонин"}, Parent: "CN", Country: "CN", Side: "partner"},
		{Code: "CN-GD", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Guangdong Province",
			Aliases: []string{"Guangdong Province", "Guangdong", "Провинция Гуандун"}, Parent: "CN", Country: "CN", Side: "partner"},
		{Code: "AF-KAB", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Kabul Province",
			Aliases: []string{"Kabul Province"}, Parent: "AF", Country: "AF", Side: "partner"},
		{Code: "BY-HR", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Grodno Region",
			Aliases: []string{"Grodno Region", "Hrodna Region", "Гродненская область"}, Parent: "BY", Country: "BY", Side: "home"},
		{Code: "org.cn.government", Kind: bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, Name: "Government of the People's Republic of China",
			Aliases: []string{"Government of the People's Republic of China", "Government of China", "State Council of China"},
			Parent:  "CN", Category: "agency", Country: "CN", Side: "partner"},
	}
}

var (
	reCountry  = regexp.MustCompile(`^[A-Z]{2}$`)
	reISO31662 = regexp.MustCompile(`^[A-Z]{2}-[A-Z0-9]{1,3}$`)
	reCode     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9]$`)
	reAcronym  = regexp.MustCompile(`^(.*) \(([A-Za-z]{2,6})\)$`)
	// Country phrases dropped from the end of an organisation's slug: the
	// code already carries the country.
	reCountrySuffix = regexp.MustCompile(` of (the )?(Republic of Belarus|Belarus|Islamic Republic of Afghanistan|Afghanistan|China|People's Republic of China)$`)
)

// slug is the lower-case ASCII form of a name: letters and digits joined by
// single hyphens.
func slug(s string) string {
	s = strings.ReplaceAll(strings.ToLower(s), "&", " and ")
	s = strings.NewReplacer("'", "", "’", "").Replace(s)
	var b strings.Builder
	dash := false
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

func orgSlug(name string) string {
	if s, ok := orgSlugs[name]; ok {
		return s
	}
	if m := reAcronym.FindStringSubmatch(name); m != nil && strings.ToLower(m[2]) != m[2] {
		return strings.ToLower(m[2])
	}
	return slug(reCountrySuffix.ReplaceAllString(name, ""))
}

var sideNames = map[string]string{
	"belarus": "home", "partner": "partner", "bilateral": "bilateral", "multilateral": "multilateral", "third": "third",
}

// draft is a book entity on its way to a bilat.v1.Entity.
type draft struct {
	book   bookEntity
	ent    *bilatv1.Entity
	parent int // index into drafts, -1 for none or a code set directly
}

type gazetteer struct {
	entities []*bilatv1.Entity
	byCode   map[string]*bilatv1.Entity
	// byKey maps nameKey(alias) to the codes of the entities with that alias.
	byKey map[string][]string
	// byName maps nameKey(canonical name) to the entity's code.
	byName map[string]string
	added  []string // codes of supplementary entities
	world  *world
	// bookCount is the number of entities before the world data was merged.
	bookCount int
}

// buildGazetteer builds the book's entities, then merges the world data
// from sources (see world.go) into them.
func buildGazetteer(rows []bookEntity, sources string) (*gazetteer, error) {
	drafts := make([]*draft, len(rows))
	for i, r := range rows {
		d := &draft{book: r, parent: -1, ent: &bilatv1.Entity{Name: r.Canonical, Country: r.Country}}
		side, ok := sideNames[r.Side]
		if !ok {
			return nil, fmt.Errorf("entity %q: unknown side %q", r.Canonical, r.Side)
		}
		d.ent.Side = side
		if r.Country != "" && !reCountry.MatchString(r.Country) {
			return nil, fmt.Errorf("entity %q: bad country %q", r.Canonical, r.Country)
		}
		if r.ISO31662 != "" && !reISO31662.MatchString(r.ISO31662) {
			return nil, fmt.Errorf("entity %q: bad ISO 3166-2 code %q", r.Canonical, r.ISO31662)
		}
		switch {
		case r.Type == "country":
			d.ent.Kind = bilatv1.EntityKind_ENTITY_KIND_COUNTRY
		case blocCodes[r.Canonical] != "":
			d.ent.Kind = bilatv1.EntityKind_ENTITY_KIND_BLOC
			if r.Type != "bloc" {
				d.ent.Category = r.Type
			}
		case r.Type == "bloc":
			return nil, fmt.Errorf("bloc %q has no code in blocCodes", r.Canonical)
		case r.Type == "region":
			d.ent.Kind = bilatv1.EntityKind_ENTITY_KIND_REGION
			d.ent.Category = regionCategory[r.Canonical]
			if r.ISO31662 == "" && d.ent.Category == "" {
				return nil, fmt.Errorf("region %q has neither an ISO 3166-2 code nor a category", r.Canonical)
			}
		case r.Type == "city":
			d.ent.Kind = bilatv1.EntityKind_ENTITY_KIND_CITY
		default:
			d.ent.Kind = bilatv1.EntityKind_ENTITY_KIND_ORGANISATION
			d.ent.Category = r.Type
		}
		d.ent.Aliases = appendUnique(nil, r.Canonical)
		d.ent.Aliases = appendUnique(d.ent.Aliases, r.Aliases...)
		d.ent.Aliases = appendUnique(d.ent.Aliases, extraAliases[r.Canonical]...)
		drafts[i] = d
	}
	supp := supplementEntities()
	suppCodes := map[string]bool{}
	for _, e := range supp {
		suppCodes[e.Code] = true
	}

	// Codes that do not depend on a parent come first: they are what the
	// book's parent fields refer to.
	for _, d := range drafts {
		r := d.book
		switch d.ent.Kind {
		case bilatv1.EntityKind_ENTITY_KIND_COUNTRY:
			d.ent.Code = r.Country
		case bilatv1.EntityKind_ENTITY_KIND_BLOC:
			d.ent.Code = blocCodes[r.Canonical]
		case bilatv1.EntityKind_ENTITY_KIND_ORGANISATION:
			if r.Country != "" {
				d.ent.Code = "org." + strings.ToLower(r.Country) + "." + orgSlug(r.Canonical)
			} else {
				d.ent.Code = "org." + orgSlug(r.Canonical)
			}
		default:
			d.ent.Code = r.ISO31662 // empty for sub-region entities, set below
		}
	}

	// Resolve parents: an override, else the book's parent as a code, a
	// canonical name or a unique alias; else the entity's country.
	for i, d := range drafts {
		ref, overridden := parentOverrides[d.book.Canonical]
		if !overridden {
			ref = d.book.Parent
		}
		if ref == "" {
			if d.ent.Kind != bilatv1.EntityKind_ENTITY_KIND_COUNTRY && d.book.Country != "" {
				d.ent.Parent = d.book.Country
			}
			continue
		}
		j, code, err := findParent(drafts, suppCodes, ref)
		if err != nil {
			return nil, fmt.Errorf("entity %q: parent %q: %w", d.book.Canonical, ref, err)
		}
		if j == i {
			return nil, fmt.Errorf("entity %q is its own parent", d.book.Canonical)
		}
		d.parent, d.ent.Parent = j, code
	}
	// Sub-region codes hang on the parent's code; parents may be sub-region
	// entities themselves, so resolve recursively.
	var codeOf func(i int, depth int) (string, error)
	codeOf = func(i int, depth int) (string, error) {
		d := drafts[i]
		if d.ent.Code != "" {
			return d.ent.Code, nil
		}
		if depth > len(drafts) {
			return "", fmt.Errorf("parent cycle at %q", d.book.Canonical)
		}
		parent := d.ent.Parent
		if d.parent >= 0 {
			p, err := codeOf(d.parent, depth+1)
			if err != nil {
				return "", err
			}
			parent = p
		}
		if parent == "" {
			return "", fmt.Errorf("entity %q needs a parent for its code", d.book.Canonical)
		}
		s, ok := subCodes[d.book.Canonical]
		if !ok {
			s = slug(d.book.Canonical)
		}
		d.ent.Code = parent + "." + s
		return d.ent.Code, nil
	}
	g := &gazetteer{byCode: map[string]*bilatv1.Entity{}, byKey: map[string][]string{}, byName: map[string]string{}}
	for i := range drafts {
		if _, err := codeOf(i, 0); err != nil {
			return nil, err
		}
	}
	for _, d := range drafts {
		if d.parent >= 0 {
			d.ent.Parent = drafts[d.parent].ent.Code
		}
		g.entities = append(g.entities, d.ent)
	}
	for _, e := range supp {
		g.entities = append(g.entities, e)
		g.added = append(g.added, e.Code)
	}
	// What every book spelling resolves to before the merge: the world data
	// must not take any of them away or send it elsewhere.
	before := bookResolutions(g.entities)
	w, err := buildWorld(sources)
	if err != nil {
		return nil, fmt.Errorf("world data: %w", err)
	}
	g.world = w
	g.bookCount = len(g.entities)
	g.merge(w)
	for _, e := range g.entities {
		e.Memberships = w.memberships[e.Code]
	}
	if err := g.index(); err != nil {
		return nil, err
	}
	for code := range w.memberships {
		if g.byCode[code] == nil {
			return nil, fmt.Errorf("membership of unknown entity %q", code)
		}
	}
	for k, code := range before {
		if got, ok := g.resolveKey(k); !ok || got.Code != code {
			return nil, fmt.Errorf("book spelling %q resolved to %s before the world data and to %v after", k, code, got.GetCode())
		}
	}
	return g, nil
}

// bookResolutions maps every alias key of the book's entities that resolves
// (canonical name, or an alias of one entity only) to its code.
func bookResolutions(ents []*bilatv1.Entity) map[string]string {
	tmp := &gazetteer{entities: ents, byCode: map[string]*bilatv1.Entity{}, byKey: map[string][]string{}, byName: map[string]string{}}
	for _, e := range ents {
		tmp.byCode[e.Code] = e
		tmp.byName[nameKey(e.Name)] = e.Code
		for _, a := range e.Aliases {
			k := nameKey(a)
			if !slices.Contains(tmp.byKey[k], e.Code) {
				tmp.byKey[k] = append(tmp.byKey[k], e.Code)
			}
		}
	}
	out := map[string]string{}
	for k := range tmp.byKey {
		if e, ok := tmp.resolveKey(k); ok {
			out[k] = e.Code
		}
	}
	return out
}

func findParent(drafts []*draft, suppCodes map[string]bool, ref string) (int, string, error) {
	if suppCodes[ref] {
		return -1, ref, nil
	}
	for j, d := range drafts {
		if d.ent.Code != "" && d.ent.Code == ref {
			return j, ref, nil
		}
	}
	for j, d := range drafts {
		if d.book.Canonical == ref {
			return j, "", nil
		}
	}
	found := -1
	for j, d := range drafts {
		if slices.Contains(d.book.Aliases, ref) {
			if found >= 0 {
				return 0, "", fmt.Errorf("ambiguous: alias of %q and %q", drafts[found].book.Canonical, d.book.Canonical)
			}
			found = j
		}
	}
	if found < 0 {
		return 0, "", fmt.Errorf("no such entity or code")
	}
	return found, "", nil
}

// index checks the gazetteer's invariants (unique valid codes, existing
// parents and blocs, canonical names unique) and builds the name lookups.
func (g *gazetteer) index() error {
	for _, e := range g.entities {
		if !reCode.MatchString(e.Code) {
			return fmt.Errorf("entity %q: invalid code %q", e.Name, e.Code)
		}
		if prev, dup := g.byCode[e.Code]; dup {
			return fmt.Errorf("code %q used by both %q and %q", e.Code, prev.Name, e.Name)
		}
		g.byCode[e.Code] = e
	}
	for _, e := range g.entities {
		if e.Parent != "" && g.byCode[e.Parent] == nil {
			return fmt.Errorf("entity %s: parent %q does not exist", e.Code, e.Parent)
		}
		if e.Country != "" && g.byCode[e.Country] == nil {
			return fmt.Errorf("entity %s: country %q does not exist", e.Code, e.Country)
		}
		for _, m := range e.Memberships {
			if b := g.byCode[m.Bloc]; b == nil || b.Kind != bilatv1.EntityKind_ENTITY_KIND_BLOC {
				return fmt.Errorf("entity %s: membership bloc %q is not a bloc", e.Code, m.Bloc)
			}
		}
		k := nameKey(e.Name)
		if prev, dup := g.byName[k]; dup {
			return fmt.Errorf("canonical name %q shared by %s and %s", e.Name, prev, e.Code)
		}
		g.byName[k] = e.Code
		seen := map[string]bool{}
		for _, a := range e.Aliases {
			k := nameKey(a)
			if k == "" {
				return fmt.Errorf("entity %s: empty alias", e.Code)
			}
			if !seen[k] {
				seen[k] = true
				g.byKey[k] = append(g.byKey[k], e.Code)
			}
		}
	}
	var shared []string
	for k, codes := range g.byKey {
		if len(codes) < 2 {
			continue
		}
		sorted := slices.Sorted(slices.Values(codes))
		if allow, ok := sharedAliases[k]; !ok || !slices.Equal(allow, sorted) {
			shared = append(shared, fmt.Sprintf("%q: %v", k, sorted))
		}
	}
	if len(shared) > 0 {
		slices.Sort(shared)
		return fmt.Errorf("aliases shared by several entities (make them unique or add them to sharedAliases):\n%s", strings.Join(shared, "\n"))
	}
	for k, codes := range sharedAliases {
		if !slices.Equal(slices.Sorted(slices.Values(g.byKey[k])), codes) {
			return fmt.Errorf("sharedAliases[%q] = %v, but the alias belongs to %v", k, codes, g.byKey[k])
		}
	}
	for name := range extraAliases {
		if g.byName[nameKey(name)] == "" {
			return fmt.Errorf("extra aliases for unknown entity %q", name)
		}
	}
	for name := range parentOverrides {
		if g.byName[nameKey(name)] == "" {
			return fmt.Errorf("parent override for unknown entity %q", name)
		}
	}
	return nil
}

// resolve finds the entity a name denotes the way enrichment does: an exact
// canonical name wins; otherwise the alias must belong to one entity only.
func (g *gazetteer) resolve(name string) (*bilatv1.Entity, bool) {
	return g.resolveKey(nameKey(name))
}

func (g *gazetteer) resolveKey(k string) (*bilatv1.Entity, bool) {
	if code, ok := g.byName[k]; ok {
		return g.byCode[code], true
	}
	if codes := g.byKey[k]; len(codes) == 1 {
		return g.byCode[codes[0]], true
	}
	return nil, false
}

// ambiguous lists the aliases shared by several entities, with their codes.
func (g *gazetteer) ambiguous() [][2]string {
	var out [][2]string
	for k, codes := range g.byKey {
		if len(codes) > 1 {
			out = append(out, [2]string{k, strings.Join(codes, ", ")})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func appendUnique(list []string, items ...string) []string {
	for _, s := range items {
		if s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}
