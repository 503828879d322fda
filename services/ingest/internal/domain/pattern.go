package domain

// charPattern is a pattern of the form ^[first][rest]{min-1,max-1}$,
// matched with a loop over the bytes: regexp was most of validation's
// CPU, which ingest spends on every event. Its String is that regexp,
// for error messages.
type charPattern struct {
	re          string
	first, rest *[256]bool // the bytes each class admits
	min, max    int        // length in bytes
}

func (p charPattern) MatchString(s string) bool {
	if len(s) < p.min || len(s) > p.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		in := p.rest
		if i == 0 {
			in = p.first
		}
		if !in[s[i]] {
			return false
		}
	}
	return true
}

func (p charPattern) String() string { return p.re }

// class is the byte class of the ranges ("az") and single bytes given.
func class(ranges ...string) *[256]bool {
	var c [256]bool
	for _, r := range ranges {
		lo, hi := r[0], r[len(r)-1]
		for b := int(lo); b <= int(hi); b++ {
			c[b] = true
		}
	}
	return &c
}

var (
	lowerOrDigit = class("az", "09")
	idByte       = class("az", "09", ".", "_", "-")
	upper        = class("AZ")

	idPattern       = charPattern{re: `^[a-z0-9][a-z0-9._-]{0,127}$`, first: lowerOrDigit, rest: idByte, min: 1, max: 128}
	currencyPattern = charPattern{re: `^[A-Z]{3}$`, first: upper, rest: upper, min: 3, max: 3}
	countryPattern  = charPattern{re: `^[A-Z]{2}$`, first: upper, rest: upper, min: 2, max: 2}
)
