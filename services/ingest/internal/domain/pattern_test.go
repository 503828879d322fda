package domain

import (
	"regexp"
	"strings"
	"testing"
)

// Each charPattern matches exactly what its regexp matches.
func TestCharPatternsAgreeWithRegexp(t *testing.T) {
	inputs := []string{"", "a", "A", "0", ".", "-a", "a-", "ab.c_d-e", "GE", "ge", "G", "GEO", "USD", "usd", "US", "USDT",
		"Ab", "aB", "a b", "é", "a\x00", strings.Repeat("a", 127), strings.Repeat("a", 128), strings.Repeat("a", 129)}
	// Every one- and two-byte string, and three-byte strings over a few bytes.
	for c := 0; c < 256; c++ {
		inputs = append(inputs, string([]byte{byte(c)}))
		for d := 0; d < 256; d++ {
			inputs = append(inputs, string([]byte{byte(c), byte(d)}))
		}
	}
	for _, a := range "aAz.Z_-9@" {
		for _, b := range "aAz.Z_-9@" {
			for _, c := range "aAZ-" {
				inputs = append(inputs, string([]rune{a, b, c}))
			}
		}
	}
	for _, p := range []charPattern{idPattern, currencyPattern, countryPattern} {
		re := regexp.MustCompile(p.String())
		for _, s := range inputs {
			if got, want := p.MatchString(s), re.MatchString(s); got != want {
				t.Errorf("%s on %q: %v, regexp says %v", p, s, got, want)
			}
		}
	}
}
