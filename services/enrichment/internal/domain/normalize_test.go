package domain

import "testing"

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Stavropol Krai", "stavropol krai"},
		{"  STAVROPOL   krai\t", "stavropol krai"},
		{"Bel Trade Ltd.", "bel trade ltd"},
		{"Herat Keshawarz co.ltd", "herat keshawarz co ltd"},
		{`JSC "Mogilevliftmash"`, "jsc mogilevliftmash"},
		{"People's Republic of China", "peoples republic of china"},
		{"People’s Republic of China", "peoples republic of china"},
		{"Chinese-Belarusian Industrial Park «Great Stone»", "chinese belarusian industrial park great stone"},
		{"Modum - Our Cosmetics", "modum our cosmetics"},
		{"S&T cooperation commission", "s t cooperation commission"},
		{"Silk Road International LLC/Barakat Company Ltd", "silk road international llc barakat company ltd"},
		{"Могилёв", "могилев"},
		{"МОГИЛЁВ", "могилев"},
		{"Могиле\u0308в", "могилев"}, // e + combining diaeresis composes to ё first
		{"Ставропольский  край", "ставропольский край"},
		{"„Союзное государство“", "союзное государство"},
		{"ＧＥＯＲＧＩＡ", "georgia"}, // full-width forms fold under NFKC
		{"Магілёў", "магілеў"},
		{"საქართველო", "საქართველო"},
		{"...", ""},
		{"", ""},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Stavropol Krai", "«Великий камень»", "Могиле\u0308в", "ＧＥＯＲＧＩＡ", " a  b "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, Normalize(n))
		}
		if len(n) > 0 && (n[0] == ' ' || n[len(n)-1] == ' ') {
			t.Fatalf("untrimmed: %q", n)
		}
	})
}
