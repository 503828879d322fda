package domain

import "strings"

// Hint is what the generic words of a name say about the entity it
// denotes: "Mogilev Region" asks for a region, "Minsk city" for a city,
// "Government of …" or "… Executive Committee" for the authority of a
// place.
type Hint uint8

// Hints, combinable ("regional executive committee" is HintRegion|HintAuthority).
const (
	HintRegion Hint = 1 << iota
	HintCity
	HintAuthority
)

// genericWords are stripped from names before the second, looser lookup;
// the words are written as sources write them and turned into Key form at
// start-up, so Russian and English spellings share one table.
var genericWords = map[string]Hint{
	// Regions of every sort.
	"region": HintRegion, "regional": HintRegion, "oblast": HintRegion, "obl": HintRegion,
	"krai": HintRegion, "kraj": HintRegion, "territory": HintRegion, "province": HintRegion,
	"provincial": HintRegion, "voivodeship": HintRegion, "prefecture": HintRegion, "district": HintRegion,
	"raion": HintRegion, "rayon": HintRegion, "county": HintRegion,
	"область": HintRegion, "обл": HintRegion, "областной": HintRegion, "областная": HintRegion,
	"край": HintRegion, "краевой": HintRegion, "провинция": HintRegion, "район": HintRegion,
	"районный": HintRegion, "вобласць": HintRegion, "вобласці": HintRegion,
	// Cities.
	"city": HintCity, "town": HintCity, "municipality": HintCity, "municipal": HintCity,
	"город": HintCity, "г": HintCity, "городской": HintCity, "горад": HintCity,
	// The authority of a place: its government, administration, executive committee.
	"government": HintAuthority, "administration": HintAuthority, "executive": HintAuthority,
	"committee": HintAuthority, "правительство": HintAuthority, "администрация": HintAuthority,
	"исполнительный": HintAuthority, "комитет": HintAuthority, "исполком": HintAuthority,
	"облисполком": HintAuthority | HintRegion, "горисполком": HintAuthority | HintCity,
	"райисполком": HintAuthority | HintRegion,
	// Russian inflections: "Правительство Ставропольского края",
	// "администрацией Минской области".
	"области": HintRegion, "областью": HintRegion, "края": HintRegion, "краю": HintRegion, "краем": HintRegion,
	"крае": HintRegion, "района": HintRegion, "районе": HintRegion, "провинции": HintRegion, "города": HintCity,
	"городе": HintCity, "республики": 0, "республикой": 0, "республике": 0, "правительства": HintAuthority,
	"правительством": HintAuthority, "администрации": HintAuthority, "администрацией": HintAuthority,
	"комитета": HintAuthority, "комитетом": HintAuthority, "облисполкома": HintAuthority | HintRegion,
	"облисполкомом": HintAuthority | HintRegion, "горисполкома": HintAuthority | HintCity,
	"горисполкомом": HintAuthority | HintCity,
	// Formal words that do not change which place is meant.
	"the": 0, "of": 0, "republic": 0, "республика": 0, "рэспубліка": 0, "autonomous": 0,
	"автономная": 0, "автономный": 0,
	// Legal forms of enterprises: "JSC Mogilevliftmash", "ОАО «МАЗ»".
	"jsc": 0, "ojsc": 0, "cjsc": 0, "pjsc": 0, "llc": 0, "ltd": 0, "co": 0, "inc": 0, "plc": 0, "gmbh": 0,
	"оао": 0, "зао": 0, "ооо": 0, "одо": 0, "пао": 0, "ао": 0, "уп": 0, "руп": 0,
}

// genericKeys is genericWords in Key form.
var genericKeys = func() map[string]Hint {
	m := make(map[string]Hint, len(genericWords))
	for w, h := range genericWords {
		m[Key(w)] |= h
	}
	return m
}()

// adjectiveEndings are cut from words of five letters or more (in Key
// form), so the Russian adjective meets the noun: "минская" → "min",
// "Minsk" → "min", "ставропольский" → "stavropol".
var adjectiveEndings = []string{"skaia", "skogo", "skoi", "skoe", "skie", "ski", "sk", "aia", "oi"}

// stem cuts an adjective ending, then one final vowel, keeping at least
// three letters.
func stem(t string) string {
	if len(t) < 5 {
		return t
	}
	for _, e := range adjectiveEndings {
		if strings.HasSuffix(t, e) && len(t)-len(e) >= 3 {
			t = t[:len(t)-len(e)]
			break
		}
	}
	if n := len(t); n >= 5 {
		switch t[n-1] {
		case 'a', 'e', 'i', 'o', 'u':
			t = t[:n-1]
		}
	}
	return t
}

// Strip removes generic words from a name in Key form and stems the rest;
// it returns the stripped form and the hint of the words removed. A name
// made only of generic words strips to "".
func Strip(key string) (string, Hint) {
	var (
		b    strings.Builder
		hint Hint
	)
	b.Grow(len(key))
	for len(key) > 0 {
		i := strings.IndexByte(key, ' ')
		var tok string
		if i < 0 {
			tok, key = key, ""
		} else {
			tok, key = key[:i], key[i+1:]
		}
		if tok == "" {
			continue
		}
		if h, ok := genericKeys[tok]; ok {
			hint |= h
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(stem(tok))
	}
	return b.String(), hint
}
