// Package domain holds the gateway's pure rules: what a valid query is.
package domain

import (
	"fmt"
	"regexp"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Violation names one bad field of a request.
type Violation struct {
	Field       string
	Description string
}

// Limits of the public API.
const (
	MinYear     = 1900
	MaxYear     = 2100
	MaxPageSize = 500
)

// reCode matches entity codes: "GE", "RU-STA", "GE-AJ.batumi", "bloc.cis", "unresolved".
var reCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

const codeHelp = "must be an entity code such as GE, RU-STA, bloc.cis or unresolved"

// ValidateGet checks a GetAgreement request.
func ValidateGet(id string) []Violation {
	if id == "" {
		return []Violation{{"id", "is required"}}
	}
	return nil
}

// TradeQuery is a GetTradeSeries request.
type TradeQuery struct {
	Partner  string
	Reporter string
	Flow     bilatv1.TradeFlow
	FromYear int32
	ToYear   int32
}

// ValidateTrade checks a GetTradeSeries request.
func ValidateTrade(q TradeQuery) []Violation {
	vs := requiredCode("partner", q.Partner)
	if q.Reporter != "" && !reCode.MatchString(q.Reporter) {
		vs = append(vs, Violation{"reporter", codeHelp})
	}
	if _, ok := bilatv1.TradeFlow_name[int32(q.Flow)]; !ok {
		vs = append(vs, Violation{"flow", fmt.Sprintf("%d is not a bilat.v1.TradeFlow value", q.Flow)})
	}
	return append(vs, validateYears(q.FromYear, q.ToYear)...)
}

// validateYears checks an inclusive year range where 0 leaves an end open.
func validateYears(from, to int32) []Violation {
	var vs []Violation
	check := func(field string, y int32) {
		if y != 0 && (y < MinYear || y > MaxYear) {
			vs = append(vs, Violation{field, fmt.Sprintf("must be 0 or between %d and %d", MinYear, MaxYear)})
		}
	}
	check("from_year", from)
	check("to_year", to)
	if len(vs) == 0 && from != 0 && to != 0 && from > to {
		vs = append(vs, Violation{"from_year", "must not be after to_year"})
	}
	return vs
}

// requiredCode checks a required entity-code field.
func requiredCode(field, code string) []Violation {
	switch {
	case code == "":
		return []Violation{{field, "is required (" + codeHelp + ")"}}
	case !reCode.MatchString(code):
		return []Violation{{field, codeHelp}}
	}
	return nil
}
