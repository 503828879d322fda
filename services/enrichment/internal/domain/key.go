package domain

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// cyrLatin is the one transliteration scheme names are matched in: a
// simplified BGN/PCGN reading of Russian, Belarusian and Ukrainian letters.
// Its variants (kh/h, y/i, ye/e) are folded afterwards by foldLatin, so the
// exact choice of Latin letters here matters less than using one table.
var cyrLatin = map[rune]string{
	'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh",
	'з': "z", 'и': "i", 'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o",
	'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f", 'х': "kh", 'ц': "ts",
	'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu",
	'я': "ya", 'і': "i", 'ї': "i", 'є': "ye", 'ў': "u", 'ґ': "g",
}

// Key is the form aliases are indexed and names looked up in: Normalize,
// then Cyrillic transliterated to Latin, Latin diacritics dropped
// (é→e, ł→l), and the spelling variants of transliteration folded (see
// foldLatin). "Могилёв", "Mogilev" and "Mahilyow" do not all meet, but
// "Могилев"/"Mogilev" and "Грозный"/"Grozny"/"Groznyi" do.
func Key(s string) string {
	return foldLatin(translit(Normalize(s)))
}

// translit maps a normalised name to Latin letters, digits and spaces;
// scripts without a table (Georgian, Chinese) are kept as they are.
// Cyrillic letters, composed ones included (й, ё, ў), come from the
// table; other letters lose their diacritics (é → e) by decomposition.
func translit(n string) string {
	ascii := true
	for i := 0; i < len(n); i++ {
		if n[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return n
	}
	var b strings.Builder
	b.Grow(len(n))
	for _, r := range n {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		if lat, ok := cyrLatin[r]; ok {
			b.WriteString(lat)
			continue
		}
		switch r {
		case 'ł':
			b.WriteByte('l')
			continue
		case 'ø':
			b.WriteByte('o')
			continue
		case 'ß':
			b.WriteString("ss")
			continue
		}
		for _, d := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, d) {
				b.WriteRune(d)
			}
		}
	}
	return b.String()
}

// foldLatin folds transliteration variants so that spellings from
// different schemes meet: ye→e, y→i (so yu→iu, ya→ia), kh→h, dzh→j, w→v,
// doubled letters collapse (Minskhhlebprom, "Groznyi" → grozni).
func foldLatin(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var prev byte
	put := func(c byte) {
		if c == prev && c != ' ' && !(c >= '0' && c <= '9') {
			return
		}
		b.WriteByte(c)
		prev = c
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			// Non-Latin script kept: copy the whole rune.
			b.WriteByte(c)
			prev = 0
			continue
		}
		var next byte
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch {
		case c == 'y' && next == 'e':
			put('e')
			i++
		case c == 'y':
			put('i')
		case c == 'd' && next == 'z' && i+2 < len(s) && s[i+2] == 'h':
			// дж: BGN "dzh", English "j" (Azerbaijan, Tajikistan).
			put('j')
			i += 2
		case c == 'k' && next == 'h':
			put('h')
			i++
		case c == 'w':
			put('v')
		default:
			put(c)
		}
	}
	return b.String()
}
