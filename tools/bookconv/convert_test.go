package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// The committed data/ is both the expected output and, through its
// byte-identical data/book copy, the input: the test needs nothing outside
// the repository.
const committed = "../../data"

var (
	freshOnce sync.Once
	freshDir  string
	freshSum  *summary
	freshErr  error
)

// fresh converts data/book into a temporary directory once per test binary.
func fresh(t *testing.T) (string, *summary) {
	t.Helper()
	freshOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bookconv-test-")
		if err != nil {
			freshErr = err
			return
		}
		freshDir = dir
		freshSum, freshErr = convert(filepath.Join(committed, dirBook), dir)
	})
	if freshErr != nil {
		t.Fatalf("convert: %v", freshErr)
	}
	return freshDir, freshSum
}

func TestMain(m *testing.M) {
	code := m.Run()
	if freshDir != "" {
		os.RemoveAll(freshDir)
	}
	os.Exit(code)
}

func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			t.Fatalf("%s: blank line", path)
		}
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

func unmarshal(t *testing.T, where string, line []byte, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal(line, m); err != nil {
		t.Fatalf("%s: %v\n%s", where, err, line)
	}
}

type loaded struct {
	entities   []*bilatv1.Entity
	agreements []*bilatv1.Agreement
	trade      []*bilatv1.TradeFigure
}

func load(t *testing.T, dir string) loaded {
	t.Helper()
	var l loaded
	for i, line := range lines(t, filepath.Join(dir, fileEntities)) {
		e := &bilatv1.Entity{}
		unmarshal(t, "entity line "+strconv.Itoa(i+1), line, e)
		l.entities = append(l.entities, e)
	}
	for i, line := range lines(t, filepath.Join(dir, fileAgreements)) {
		r := &bilatv1.ImportRequest{}
		unmarshal(t, "agreement line "+strconv.Itoa(i+1), line, r)
		if r.GetAgreement() == nil || r.IdempotencyKey != "" {
			t.Fatalf("agreement line %d: want agreement set and no idempotency key: %s", i+1, line)
		}
		l.agreements = append(l.agreements, r.GetAgreement())
	}
	for i, line := range lines(t, filepath.Join(dir, fileTrade)) {
		r := &bilatv1.ImportRequest{}
		unmarshal(t, "trade line "+strconv.Itoa(i+1), line, r)
		if r.GetTradeFigure() == nil || r.IdempotencyKey != "" {
			t.Fatalf("trade line %d: want tradeFigure set and no idempotency key: %s", i+1, line)
		}
		l.trade = append(l.trade, r.GetTradeFigure())
	}
	return l
}

// looseKey is the test's own, deliberately simple, case- and
// punctuation-insensitive form: letters and digits only, single spaces.
func looseKey(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "'", ""))
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")
}

func TestCommittedDataIsFreshConversion(t *testing.T) {
	dir, _ := fresh(t)
	want := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		want[rel], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	err = filepath.WalkDir(committed, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(committed, p)
		got[rel] = true
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, ok := want[rel]
		switch {
		case !ok:
			t.Errorf("data/%s is not produced by the converter (stale file?)", rel)
		case !bytes.Equal(data, w):
			t.Errorf("data/%s differs from a fresh conversion; re-run: go run ./tools/bookconv -in ../shared/data/book -out data", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range want {
		if !got[rel] {
			t.Errorf("data/%s is missing; re-run the converter", rel)
		}
	}
}

func TestConversionIsDeterministic(t *testing.T) {
	dir, _ := fresh(t)
	again := t.TempDir()
	if _, err := convert(filepath.Join(committed, dirBook), again); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{fileEntities, fileAgreements, fileTrade, fileOtherFigures, fileReadme} {
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", f)
		}
	}
}

func TestEntities(t *testing.T) {
	dir, _ := fresh(t)
	l := load(t, dir)
	byCode := map[string]*bilatv1.Entity{}
	for _, e := range l.entities {
		if byCode[e.Code] != nil {
			t.Errorf("duplicate code %s", e.Code)
		}
		byCode[e.Code] = e
		if e.Kind == bilatv1.EntityKind_ENTITY_KIND_UNSPECIFIED || e.Name == "" || !slices.Contains(e.Aliases, e.Name) {
			t.Errorf("%s: want kind, name and the name among the aliases: %v", e.Code, e)
		}
	}
	for _, e := range l.entities {
		if e.Parent != "" && byCode[e.Parent] == nil {
			t.Errorf("%s: parent %s missing", e.Code, e.Parent)
		}
		for _, m := range e.Memberships {
			if byCode[m.Bloc].GetKind() != bilatv1.EntityKind_ENTITY_KIND_BLOC {
				t.Errorf("%s: membership in %s, not a bloc", e.Code, m.Bloc)
			}
		}
	}
	for code, want := range map[string]struct {
		kind   bilatv1.EntityKind
		name   string
		parent string
	}{
		"BY":               {bilatv1.EntityKind_ENTITY_KIND_COUNTRY, "Belarus", ""},
		"GE":               {bilatv1.EntityKind_ENTITY_KIND_COUNTRY, "Georgia", ""},
		"GE-TB":            {bilatv1.EntityKind_ENTITY_KIND_CITY, "Tbilisi", "GE"},
		"GE-AJ.batumi":     {bilatv1.EntityKind_ENTITY_KIND_CITY, "Batumi", "GE-AJ"},
		"RU-STA":           {bilatv1.EntityKind_ENTITY_KIND_REGION, "Stavropol Krai", "RU.ncfd"},
		"RU-STA.stavropol": {bilatv1.EntityKind_ENTITY_KIND_CITY, "Stavropol (city)", "RU-STA"},
		"BY-HM":            {bilatv1.EntityKind_ENTITY_KIND_CITY, "Minsk", "BY"},
		"CN-SD":            {bilatv1.EntityKind_ENTITY_KIND_REGION, "Shandong Province", "CN"},
		"bloc.cis":         {bilatv1.EntityKind_ENTITY_KIND_BLOC, "Commonwealth of Independent States", ""},
		"bloc.eaeu":        {bilatv1.EntityKind_ENTITY_KIND_BLOC, "Eurasian Economic Union", ""},
		"bloc.union-state": {bilatv1.EntityKind_ENTITY_KIND_BLOC, "Union State of Belarus and Russia", ""},
		"org.by.mtz":       {bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, "Minsk Tractor Works (MTZ)", "BY-HM"},
	} {
		e := byCode[code]
		if e == nil || e.Kind != want.kind || e.Name != want.name || e.Parent != want.parent {
			t.Errorf("%s = %v, want kind %v name %q parent %q", code, e, want.kind, want.name, want.parent)
		}
	}
	if byCode["org.by.mtz"].GetCategory() != "enterprise" || byCode["BY"].GetSide() != "home" {
		t.Errorf("category/side not kept: %v %v", byCode["org.by.mtz"], byCode["BY"])
	}
	var eaeu []string
	for _, e := range l.entities {
		for _, m := range e.Memberships {
			if m.Bloc == "bloc.eaeu" {
				eaeu = append(eaeu, e.Code)
			}
		}
	}
	slices.Sort(eaeu)
	if !slices.Equal(eaeu, []string{"AM", "BY", "KG", "KZ", "RU"}) {
		t.Errorf("EAEU members = %v", eaeu)
	}
	ge := byCode["GE"].Memberships
	if len(ge) != 1 || ge[0].Bloc != "bloc.cis" || ge[0].Left.GetYear() != 2009 {
		t.Errorf("Georgia's CIS membership = %v, want left in 2009", ge)
	}
}

// TestNamesResolve: every name an agreement or trade figure carries is an
// alias in the gazetteer, or a party name listed as intentionally unresolved.
func TestNamesResolve(t *testing.T) {
	dir, _ := fresh(t)
	l := load(t, dir)
	owners := map[string][]string{}
	for _, e := range l.entities {
		for _, a := range e.Aliases {
			k := looseKey(a)
			if !slices.Contains(owners[k], e.Code) {
				owners[k] = append(owners[k], e.Code)
			}
		}
	}
	canonical := map[string]bool{}
	for _, e := range l.entities {
		canonical[e.Name] = true
	}
	unresolvedUsed := map[string]bool{}
	for _, a := range l.agreements {
		if !canonical[a.Partner.GetName()] || len(owners[looseKey(a.Partner.GetName())]) != 1 {
			t.Errorf("agreement %s: partner %q is not one entity's canonical name", a.Id, a.Partner.GetName())
		}
		for _, p := range a.Parties {
			name := p.Entity.GetName()
			switch {
			case slices.Contains(intendedUnresolved, name):
				unresolvedUsed[name] = true
				if len(owners[looseKey(name)]) != 0 {
					t.Errorf("%q is listed as unresolved but is an alias of %v", name, owners[looseKey(name)])
				}
			case len(owners[looseKey(name)]) == 0:
				t.Errorf("agreement %s: party %q is no gazetteer alias and not listed as unresolved", a.Id, name)
			}
		}
	}
	for _, n := range intendedUnresolved {
		if !unresolvedUsed[n] {
			t.Errorf("intended unresolved name %q is used by no agreement", n)
		}
	}
	for _, f := range l.trade {
		for _, ref := range []*bilatv1.EntityRef{f.Reporter, f.Partner} {
			if !canonical[ref.GetName()] || len(owners[looseKey(ref.GetName())]) != 1 {
				t.Errorf("trade %s: %q is not one entity's canonical name", f.Id, ref.GetName())
			}
		}
	}
}

var reSkippedRow = regexp.MustCompile("^\\| `([a-z0-9-]+)` \\| ")

// TestCounts: what is loaded is the book minus the rows data/README.md lists.
func TestCounts(t *testing.T) {
	dir, sum := fresh(t)
	l := load(t, dir)
	readme, err := os.ReadFile(filepath.Join(dir, fileReadme))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Book trade rows not loaded")
	if !ok {
		t.Fatal("README has no list of rows not loaded")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	listed := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if m := reSkippedRow.FindStringSubmatch(line); m != nil {
			listed[m[1]] = true
		}
	}
	bookIDs := func(file string) []string {
		var ids []string
		for _, line := range lines(t, filepath.Join(committed, dirBook, file)) {
			var row struct{ ID string }
			if err := json.Unmarshal(line, &row); err != nil || row.ID == "" {
				t.Fatalf("%s: %v", file, err)
			}
			ids = append(ids, row.ID)
		}
		return ids
	}
	bookTrade, bookAgr := bookIDs("trade.ndjson"), bookIDs("agreements.ndjson")
	bookEnt := lines(t, filepath.Join(committed, dirBook, "entities.ndjson"))
	bookOther := lines(t, filepath.Join(committed, dirBook, "other_figures.ndjson"))

	if len(l.agreements) != len(bookAgr) {
		t.Errorf("agreements: %d loaded, book has %d and none is listed as not loaded", len(l.agreements), len(bookAgr))
	}
	if len(listed) == 0 || len(l.trade) != len(bookTrade)-len(listed) {
		t.Errorf("trade: %d loaded, want %d book rows - %d listed", len(l.trade), len(bookTrade), len(listed))
	}
	loadedTrade := map[string]bool{}
	for _, f := range l.trade {
		loadedTrade[f.Id] = true
		if listed[f.Id] {
			t.Errorf("trade row %s is loaded but listed as not loaded", f.Id)
		}
	}
	for _, id := range bookTrade {
		if !loadedTrade[id] && !listed[id] {
			t.Errorf("trade row %s is neither loaded nor listed", id)
		}
	}
	if got := len(lines(t, filepath.Join(dir, fileOtherFigures))); got != len(bookOther)+len(listed) {
		t.Errorf("other_figures: %d lines, want %d + %d", got, len(bookOther), len(listed))
	}
	if len(l.entities) != len(bookEnt)+len(sum.Added) {
		t.Errorf("entities: %d, want %d from the book + %d added", len(l.entities), len(bookEnt), len(sum.Added))
	}
}

func TestTrapsKept(t *testing.T) {
	dir, _ := fresh(t)
	l := load(t, dir)
	byID := map[string]*bilatv1.TradeFigure{}
	for _, f := range l.trade {
		byID[f.Id] = f
	}
	cases := []struct {
		id    string
		check func(*bilatv1.TradeFigure) bool
	}{
		{"belarus-stavropol-turnover-2013", func(f *bilatv1.TradeFigure) bool {
			return proto.Equal(f.Value, &bilatv1.Money{Currency: "RUB", Units: 6_700_000_000}) && f.GetStatedGrowthPct() == 50 &&
				f.GrowthBase.GetYear() == 2012 && f.Attributes["growth_approx"] == "true"
		}},
		{"belarus-dagestan-turnover-2014", func(f *bilatv1.TradeFigure) bool {
			return f.Approximate && f.Approximation == "came close to" && f.Value.GetUnits() == 14_000_000
		}},
		{"belarus-georgia-transport-services-2018", func(f *bilatv1.TradeFigure) bool {
			return f.Flow == bilatv1.TradeFlow_TRADE_FLOW_TURNOVER && f.Scope == bilatv1.TradeScope_TRADE_SCOPE_TRANSPORT_SERVICES
		}},
		{"cis-mutual-trade-2018-jan-jul", func(f *bilatv1.TradeFigure) bool {
			return proto.Equal(f.Period, &bilatv1.Period{Year: 2018, FirstMonth: 1, LastMonth: 7}) &&
				proto.Equal(f.GrowthBase, &bilatv1.Period{Year: 2017, FirstMonth: 1, LastMonth: 7})
		}},
		{"belarus-georgia-turnover-target-2020", func(f *bilatv1.TradeFigure) bool {
			return f.IsTarget && f.Value.GetUnits() == 200_000_000 && f.Value.GetCurrency() == "USD"
		}},
		{"dagestan-trade-belarus-2017", func(f *bilatv1.TradeFigure) bool {
			return f.Reporter.GetName() == "Republic of Dagestan" && f.Partner.GetName() == "Belarus"
		}},
		{"minsk-georgia-imports-2017", func(f *bilatv1.TradeFigure) bool {
			return f.Reporter.GetName() == "Minsk" && f.Flow == bilatv1.TradeFlow_TRADE_FLOW_IMPORTS &&
				proto.Equal(f.Value, &bilatv1.Money{Currency: "USD", Units: 10_900_000}) && f.Sources[0].GetReference() == "footnote 45"
		}},
	}
	for _, c := range cases {
		f := byID[c.id]
		if f == nil || !c.check(f) {
			t.Errorf("%s: %v", c.id, f)
		}
	}
	agr := map[string]*bilatv1.Agreement{}
	for _, a := range l.agreements {
		agr[a.Id] = a
	}
	if a := agr["stavropol-belarus-intergovernmental-agreement-2017"]; a.GetPartner().GetName() != "Stavropol Krai" ||
		!proto.Equal(a.SignedOn, &bilatv1.PartialDate{Year: 2017, Month: 3}) {
		t.Errorf("stavropol agreement: %v", a)
	}
	if a := agr["cis-regulation-council-interregional-border-cooperation-2008"]; a.GetKind() != bilatv1.AgreementKind_AGREEMENT_KIND_OTHER || a.GetSubkind() != "regulation" {
		t.Errorf("regulation: %v", a)
	}
	if a := agr["cis-concept-further-development-2007"]; a.GetStatus() != bilatv1.AgreementStatus_AGREEMENT_STATUS_ADOPTED {
		t.Errorf("adopted: %v", a)
	}
	if a := agr["maz-profauto-dealership-contract-2018"]; !a.GetValueApproximate() ||
		!proto.Equal(a.GetValue(), &bilatv1.Money{Currency: "USD", Units: 1_000_000}) {
		t.Errorf("value: %v", a)
	}
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]*bilatv1.Period{
		"2017":            {Year: 2017},
		"2018-03":         {Year: 2018, FirstMonth: 3, LastMonth: 3},
		"2018-01/2018-07": {Year: 2018, FirstMonth: 1, LastMonth: 7},
	} {
		got, err := parsePeriod(in)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("parsePeriod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1956/..", "2018-07/2018-01", "2017-12/2018-01", "2018-13", "17"} {
		if got, err := parsePeriod(bad); err == nil {
			t.Errorf("parsePeriod(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParsePartialDate(t *testing.T) {
	for in, want := range map[string]*bilatv1.PartialDate{
		"2002": {Year: 2002}, "2017-03": {Year: 2017, Month: 3}, "2019-04-12": {Year: 2019, Month: 4, Day: 12},
	} {
		got, err := parsePartialDate(in)
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("parsePartialDate(%q) = %v, %v", in, got, err)
		}
	}
	if d, err := parsePartialDate(""); d != nil || err != nil {
		t.Errorf("empty date = %v, %v", d, err)
	}
	for _, bad := range []string{"2019-00", "2019-04-32", "March 2019", "2019/04"} {
		if _, err := parsePartialDate(bad); err == nil {
			t.Errorf("parsePartialDate(%q): want an error", bad)
		}
	}
}

func TestMoney(t *testing.T) {
	for in, want := range map[string]*bilatv1.Money{
		"6700000000":  {Currency: "RUB", Units: 6_700_000_000},
		"47930000":    {Currency: "RUB", Units: 47_930_000},
		"16.4":        {Currency: "RUB", Units: 16, Nanos: 400_000_000},
		"-38.1":       {Currency: "RUB", Units: -38, Nanos: -100_000_000},
		"1.64e11":     {Currency: "RUB", Units: 164_000_000_000},
		"0.000000001": {Currency: "RUB", Nanos: 1},
	} {
		got, err := money(json.Number(in), "RUB")
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("money(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []struct{ n, cur string }{{"0.0000000001", "USD"}, {"1", "usd"}, {"1", ""}, {"x", "USD"}, {"1e30", "USD"}} {
		if _, err := money(json.Number(bad.n), bad.cur); err == nil {
			t.Errorf("money(%s, %q): want an error", bad.n, bad.cur)
		}
	}
}

func TestNameKey(t *testing.T) {
	for in, want := range map[string]string{
		`JSC "Mogilevliftmash"`:       "jsc mogilevliftmash",
		"People's Republic of China":  "peoples republic of china",
		"Bel Trade Ltd.":              "bel trade ltd",
		"  Sino-Belarusian   Center ": "sino belarusian center",
		"Могилёв":                     "могилев",
		"«Великий камень»":            "великий камень",
		"Modum - Our Cosmetics":       "modum our cosmetics",
	} {
		if got := nameKey(in); got != want {
			t.Errorf("nameKey(%q) = %q, want %q", in, got, want)
		}
	}
}
