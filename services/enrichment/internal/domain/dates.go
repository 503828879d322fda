package domain

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

var months = map[string]int32{}

func init() {
	for i, names := range [][]string{
		{"january", "jan", "январь", "января", "январе"}, {"february", "feb", "февраль", "февраля", "феврале"},
		{"march", "mar", "март", "марта", "марте"}, {"april", "apr", "апрель", "апреля", "апреле"},
		{"may", "май", "мая", "мае"}, {"june", "jun", "июнь", "июня", "июне"}, {"july", "jul", "июль", "июля", "июле"},
		{"august", "aug", "август", "августа", "августе"}, {"september", "sep", "sept", "сентябрь", "сентября", "сентябре"},
		{"october", "oct", "октябрь", "октября", "октябре"}, {"november", "nov", "ноябрь", "ноября", "ноябре"},
		{"december", "dec", "декабрь", "декабря", "декабре"},
	} {
		for _, n := range names {
			months[n] = int32(i + 1)
		}
	}
}

// hedges make a date approximate.
var hedges = []string{"mid", "early", "late", "around", "about", "circa", "ca", "c", "approximately", "end", "beginning",
	"середина", "середине", "начало", "начале", "конец", "конце", "около", "примерно", "ок"}

var (
	reISO   = regexp.MustCompile(`^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$`)
	reDMY   = regexp.MustCompile(`^(\d{1,2})\.(\d{1,2})\.(\d{4})$`)
	reToken = regexp.MustCompile(`[\p{L}]+|\d+`)
)

// ParsePartialDate reads a date as sources write it and keeps exactly the
// precision given: "2002", "April 2019", "mid-March 2017" (approximate),
// "14 March 2017", "2017-03", "14.03.2017", "в апреле 2019 года".
func ParsePartialDate(s string) (*bilatv1.PartialDate, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if m := reISO.FindStringSubmatch(t); m != nil {
		return checkDate(atoi(m[1]), atoi(m[2]), atoi(m[3]), false, s)
	}
	if m := reDMY.FindStringSubmatch(t); m != nil {
		return checkDate(atoi(m[3]), atoi(m[2]), atoi(m[1]), false, s)
	}
	var year, month, day int32
	approx := false
	for _, tok := range reToken.FindAllString(t, -1) {
		switch {
		case tok[0] >= '0' && tok[0] <= '9':
			n := atoi(tok)
			switch {
			case len(tok) == 4 && year == 0:
				year = n
			case len(tok) <= 2 && day == 0 && n >= 1 && n <= 31:
				day = n
			default:
				return nil, fmt.Errorf("date %q: cannot read %q", s, tok)
			}
		case months[tok] != 0 && month == 0:
			month = months[tok]
		case isHedge(tok):
			approx = true
		case tok == "year" || tok == "года" || tok == "год" || tok == "г" || tok == "in" || tok == "в" || tok == "of" || tok == "the" || tok == "on":
		default:
			return nil, fmt.Errorf("date %q: unknown word %q", s, tok)
		}
	}
	if month == 0 && day != 0 {
		return nil, fmt.Errorf("date %q: a day without a month", s)
	}
	return checkDate(year, month, day, approx, s)
}

func isHedge(tok string) bool {
	for _, h := range hedges {
		if tok == h {
			return true
		}
	}
	return false
}

func atoi(s string) int32 {
	n, _ := strconv.Atoi(s)
	return int32(n)
}

func checkDate(y, m, d int32, approx bool, s string) (*bilatv1.PartialDate, error) {
	if y < 1900 || y > 2200 {
		return nil, fmt.Errorf("date %q: no year between 1900 and 2200", s)
	}
	if m < 0 || m > 12 || d < 0 || d > 31 || (d > 0 && m == 0) {
		return nil, fmt.Errorf("date %q: bad month or day", s)
	}
	return &bilatv1.PartialDate{Year: y, Month: m, Day: d, Approximate: approx}, nil
}
