package domain

import (
	"runtime"
	"strings"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestKeyTransliterationAndVariants(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Могилёв", "mogilev"},
		{"Mogilev", "mogilev"},
		{"Грозный", "grozni"},
		{"Grozny", "grozni"},
		{"Groznyi", "grozni"},
		{"Махачкала", "mahachkala"},
		{"Makhachkala", "mahachkala"},
		{"Таджикистан", "tajikistan"},
		{"Azerbaijan", "azerbaijan"},
		{"Азербайджан", "azerbaijan"},
		{"Армения", "armenia"},
		{"Кыргызстан", "kirgizstan"},
		{"Kyrgyzstan", "kirgizstan"},
		{"Далянь", "dalian"},
		{"Ставропольский край", "stavropolski krai"},
		{"Магілёў", "magileu"}, // ў is read as u
		{"Gomselmaš", "gomselmas"},
		{"Łódź", "lodz"},
		{"Tbilissi", "tbilisi"},
		{"Yerevan", "erevan"},
		{"Ереван", "erevan"},
		{"საქართველო", "საქართველო"}, // no table for Georgian: kept
		{"", ""},
	} {
		if got := Key(c.in); got != c.want {
			t.Errorf("Key(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestStripGenericWords(t *testing.T) {
	for _, c := range []struct {
		in, want string
		hint     Hint
	}{
		{"Mogilev Region", "mogilev", HintRegion},
		{"Могилевская область", "mogilev", HintRegion},
		{"Минская обл.", "min", HintRegion},
		{"Minsk", "min", 0},
		{"Minsk city", "min", HintCity},
		{"г. Минск", "min", HintCity},
		{"Government of the Republic of Dagestan", "dagestan", HintAuthority},
		{"Mogilev Regional Executive Committee", "mogilev", HintRegion | HintAuthority},
		{"Гомельский облисполком", "gomel", HintRegion | HintAuthority},
		{"Минский горисполком", "min", HintCity | HintAuthority},
		{"Правительство Ставропольского края", "stavropol", HintAuthority | HintRegion},
		{"Stavropol Krai", "stavropol", HintRegion},
		{"JSC Mogilevliftmash", "mogilevliftmash", 0},
		{"ОАО «МАЗ»", "maz", 0},
		{"Republic of", "", 0},
	} {
		got, h := Strip(Key(c.in))
		if got != c.want || h != c.hint {
			t.Errorf("Strip(Key(%q)) = %q %03b, want %q %03b", c.in, got, h, c.want, c.hint)
		}
	}
}

func testGazetteer(t testing.TB) *Gazetteer {
	t.Helper()
	g, err := NewGazetteer([]*bilatv1.Entity{
		{Code: "XA", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "Xandia", Aliases: []string{"Республика Ксандия"}, Side: "partner"},
		{Code: "XA-MO", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Morvel Region", Parent: "XA", Aliases: []string{"Морвельская область"}},
		{Code: "XA-MO.morvel", Kind: bilatv1.EntityKind_ENTITY_KIND_CITY, Name: "Morvel", Parent: "XA-MO"},
		{Code: "XA-TR", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Tarvel Region", Parent: "XA"},
		{Code: "XA-TA", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Tarvil Region", Parent: "XA"},
		{Code: "XA-KH", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Khabar Krai", Parent: "XA"},
		{Code: "org.xa.tarvel-gov", Kind: bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, Name: "Government of Tarvel Region", Parent: "XA-TR"},
		{Code: "org.xa.morvel-city-exec", Kind: bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, Name: "Morvel City Executive Committee", Parent: "XA-MO.morvel"},
		{Code: "org.xa.gov", Kind: bilatv1.EntityKind_ENTITY_KIND_ORGANISATION, Name: "Government of the Republic of Xandia", Parent: "XA", Category: "agency"},
		{Code: "YB", Kind: bilatv1.EntityKind_ENTITY_KIND_COUNTRY, Name: "Georgia"},
		{Code: "US-YB", Kind: bilatv1.EntityKind_ENTITY_KIND_REGION, Name: "Georgia", Parent: "US"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestResolveRules(t *testing.T) {
	g := testGazetteer(t)
	const (
		res = bilatv1.Resolution_RESOLUTION_RESOLVED
		unr = bilatv1.Resolution_RESOLUTION_UNRESOLVED
		amb = bilatv1.Resolution_RESOLUTION_AMBIGUOUS
	)
	for _, c := range []struct {
		name   string
		res    bilatv1.Resolution
		code   string // or the candidates when ambiguous
		method string
	}{
		{"Xandia", res, "XA", MethodExact},
		{"XANDIA!", res, "XA", MethodExact},
		{"Ксандия", res, "XA", MethodStripped}, // "Республика" stripped from the alias
		{"Republic of Xandia", res, "XA", MethodStripped},
		{"Government of Xandia", res, "org.xa.gov", MethodStripped}, // the authority: same generic words
		{"Morvel", res, "XA-MO.morvel", MethodExact},                // the city: no region word
		{"Morvel Region", res, "XA-MO", MethodExact},
		{"Morvel oblast", res, "XA-MO", MethodStripped},
		{"Морвельская обл.", res, "XA-MO", MethodStripped},
		{"город Морвель", res, "XA-MO.morvel", MethodStripped},
		{"Morvelt", res, "XA-MO.morvel", MethodFuzzy}, // one edit, plain name: the city
		{"Morvel Regional Executive Committee", res, "XA-MO", MethodStripped},
		{"Khabar city", unr, "", MethodStripped}, // a city is asked for, only a region exists
		{"Tarvel oblast", res, "XA-TR", MethodStripped},
		{"Правительство Тарвельской области", res, "org.xa.tarvel-gov", MethodStripped}, // the region's government, which the gazetteer has
		{"Morvel City Executive Committee", res, "org.xa.morvel-city-exec", MethodExact},
		{"Морвельский горисполком", res, "org.xa.morvel-city-exec", MethodStripped},
		{"Tarvol Region", amb, "XA-TA,XA-TR,org.xa.tarvel-gov", MethodFuzzy}, // one edit from both: say so rather than guess
		{"Georgia", res, "YB", MethodExact},                                  // the country among equal names
		{"Xqz", unr, "", ""},
		{"", unr, "", ""},
	} {
		m := g.Resolve(c.name)
		got := m.Entity.GetCode()
		if m.Resolution == amb {
			got = strings.Join(m.CandidateCodes(), ",")
		}
		if m.Resolution != c.res || got != c.code || (c.method != "" && m.Method != c.method) {
			t.Errorf("Resolve(%q) = %v %q by %q (conf %.2f, cands %v); want %v %q by %q", c.name, m.Resolution, got, m.Method, m.Confidence, m.CandidateCodes(), c.res, c.code, c.method)
		}
		if m.Resolution == res && (m.Confidence < MinConfidence || m.Confidence > 1) {
			t.Errorf("Resolve(%q): confidence %.3f out of range", c.name, m.Confidence)
		}
	}
	if m := g.Resolve("Georgia"); len(m.Candidates) != 1 || m.Candidates[0].Entity.Code != "US-YB" || m.Confidence >= ConfExact {
		t.Errorf("Georgia: runner-up %v, confidence %.2f; want US-YB and less than exact", m.CandidateCodes(), m.Confidence)
	}
}

func TestOperatorAliases(t *testing.T) {
	g := testGazetteer(t)
	if m := g.Resolve("Ksandiya Republic HQ"); m.Resolution == bilatv1.Resolution_RESOLUTION_RESOLVED {
		t.Fatalf("resolved before the alias: %+v", m)
	}
	unknown := g.SetOperatorAliases(map[string]string{"Ksandiya Republic HQ": "XA", "Nowhere": "ZZ"})
	if len(unknown) != 1 || unknown[0] != "Nowhere" {
		t.Errorf("unknown = %v", unknown)
	}
	m := g.Resolve("ksandiya republic hq")
	if m.Entity.GetCode() != "XA" || m.Method != MethodOperator || m.Confidence != ConfExact {
		t.Errorf("after alias: %+v", m)
	}
	g.SetOperatorAliases(nil)
	if m := g.Resolve("Ksandiya Republic HQ"); m.Resolution == bilatv1.Resolution_RESOLUTION_RESOLVED {
		t.Errorf("alias removed but still resolves: %+v", m)
	}
}

func TestSearch(t *testing.T) {
	g := bookGazetteer(t)
	hits := g.Search("Stav", 5, 0)
	if len(hits) == 0 || !strings.HasPrefix(hits[0].Entity.Code, "RU-STA") {
		t.Fatalf("Search(Stav) = %v", hits)
	}
	if hits := g.Search("Tbilsi", 3, 0); len(hits) == 0 || hits[0].Entity.Code != "GE-TB" {
		t.Errorf("Search(Tbilsi) = %+v, want GE-TB first (fuzzy)", hits)
	}
	for _, h := range g.Search("Мин", 10, bilatv1.EntityKind_ENTITY_KIND_CITY) {
		if h.Entity.Kind != bilatv1.EntityKind_ENTITY_KIND_CITY {
			t.Errorf("kind filter let %s through", h.Entity.Code)
		}
	}
	if hits := g.Search("Minsk", 2, 0); len(hits) > 2 {
		t.Errorf("limit ignored: %d hits", len(hits))
	}
}

func TestOSADistance(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"mogilev", "mogilev", 2, 0},
		{"mogilev", "mogliev", 2, 1}, // transposition
		{"stavropl", "stavropol", 2, 1},
		{"abc", "xyz", 1, 2}, // gives up past the limit
		{"", "ab", 3, 2},
	} {
		if got := osaDistance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("osaDistance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"Могилёв", "Stavropol Krai", "ОАО «МАЗ»", "Łódź", "Ё", "дж", "kh", "  ", "ყ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Key(s)
		if Key(k) != k {
			t.Fatalf("Key not idempotent: %q -> %q -> %q", s, k, Key(k))
		}
		if strings.Contains(k, "  ") || strings.HasPrefix(k, " ") || strings.HasSuffix(k, " ") {
			t.Fatalf("Key(%q) = %q has stray spaces", s, k)
		}
		st, _ := Strip(k)
		if st2, _ := Strip(st); st2 != st && !strings.Contains(st, " ") {
			// Stripping a stripped single word may stem further; it must not grow.
			if len(st2) > len(st) {
				t.Fatalf("Strip grew %q -> %q", st, st2)
			}
		}
		_ = g0().Resolve(s) // never panics
	})
}

var fuzzG *Gazetteer

func g0() *Gazetteer {
	if fuzzG == nil {
		g, err := NewGazetteer([]*bilatv1.Entity{{Code: "A", Name: "Alpha", Aliases: []string{"Альфа"}}})
		if err != nil {
			panic(err)
		}
		fuzzG = g
	}
	return fuzzG
}

// bookNames are every name and alias of the gazetteer, as the benchmark's input.
func bookNames(g *Gazetteer) []string {
	var names []string
	for _, e := range g.entities {
		names = append(names, e.Name)
		names = append(names, e.Aliases...)
	}
	return names
}

// BenchmarkResolve resolves the book's names in turn; target ≥ 100 000
// resolutions per second per core (≤ 10 µs/op).
func BenchmarkResolve(b *testing.B) {
	g := bookGazetteer(b)
	names := bookNames(g)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		g.Resolve(names[i%len(names)])
	}
}

// BenchmarkResolveMisspelt measures the fuzzy path: names one edit away.
func BenchmarkResolveMisspelt(b *testing.B) {
	g := bookGazetteer(b)
	var names []string
	for _, n := range bookNames(g) {
		if r := []rune(n); len(r) > 6 {
			names = append(names, string(r[:3])+string(r[4:]))
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		g.Resolve(names[i%len(names)])
	}
}

// TestResolveThroughputAndMemory checks the speed target on every run (a
// generous floor, as CI machines are shared) and reports the gazetteer's
// heap size.
func TestResolveThroughputAndMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures throughput")
	}
	data := readBook(t)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ents, err := ParseEntities(data)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGazetteer(ents)
	if err != nil {
		t.Fatal(err)
	}
	ents = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("gazetteer: %d entities, heap %.1f MiB", g.Len(), float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))

	res := testing.Benchmark(func(b *testing.B) {
		names := bookNames(g)
		for i := 0; b.Loop(); i++ {
			g.Resolve(names[i%len(names)])
		}
	})
	perSec := float64(res.N) / res.T.Seconds()
	t.Logf("ResolveEntity in-process: %.0f resolutions/s on one goroutine (%s)", perSec, res)
	// The target is 100 000/s; the floor leaves room for the race detector
	// and a loaded machine.
	if floor := 20000.0; perSec < floor && !raceEnabled {
		t.Errorf("%.0f resolutions/s, want at least %.0f", perSec, floor)
	}
	runtime.KeepAlive(g)
}
