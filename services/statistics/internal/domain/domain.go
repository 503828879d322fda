// Package domain holds the statistics service's pure rules: which record an
// enriched subject carries and what a valid counts query is.
package domain

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"bilat.dev/pkg/wirefield"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Kind is the record type of an enriched event.
type Kind int

const (
	// KindUnknown is any subject statistics does not project.
	KindUnknown Kind = iota
	// KindAgreement: bilat.enriched.agreement.<partner>, body bilat.v1.AgreementRecorded.
	KindAgreement
	// KindTradeFigure: bilat.enriched.trade_figure.<partner>, body bilat.v1.TradeFigureRecorded.
	KindTradeFigure
	// KindAgreementRetraction: bilat.enriched.agreement.retracted, body bilat.v1.AgreementRetracted.
	KindAgreementRetraction
	// KindTradeRetraction: bilat.enriched.trade_figure.retracted, body bilat.v1.TradeFigureRetracted.
	KindTradeRetraction
)

// RetractedToken is the last subject token of retraction events (no
// gazetteer code is "retracted").
const RetractedToken = "retracted"

func (k Kind) String() string {
	switch k {
	case KindAgreement:
		return "agreement"
	case KindTradeFigure:
		return "trade_figure"
	case KindAgreementRetraction:
		return "agreement_retraction"
	case KindTradeRetraction:
		return "trade_figure_retraction"
	}
	return "unknown"
}

// EventType is the full proto name of the kind's event message, as in the
// Bilat-Event-Type header.
func (k Kind) EventType() string {
	switch k {
	case KindAgreement:
		return "bilat.v1.AgreementRecorded"
	case KindTradeFigure:
		return "bilat.v1.TradeFigureRecorded"
	case KindAgreementRetraction:
		return "bilat.v1.AgreementRetracted"
	case KindTradeRetraction:
		return "bilat.v1.TradeFigureRetracted"
	}
	return ""
}

// KindOf tells the record type from an enriched subject
// (bilat.enriched.<type>.<partner token>).
func KindOf(subject string) Kind {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0] != "bilat" || parts[1] != "enriched" || parts[3] == "" {
		return KindUnknown
	}
	retracted := parts[3] == RetractedToken
	switch {
	case parts[2] == "agreement" && retracted:
		return KindAgreementRetraction
	case parts[2] == "agreement":
		return KindAgreement
	case parts[2] == "trade_figure" && retracted:
		return KindTradeRetraction
	case parts[2] == "trade_figure":
		return KindTradeFigure
	}
	return KindUnknown
}

// Violation names one bad field of a query.
type Violation struct {
	Field       string
	Description string
}

// Years outside this range are typing mistakes, not history.
const (
	MinYear = 1900
	MaxYear = 2100
)

// ValidateYearRange checks an inclusive year range where 0 leaves an end open.
func ValidateYearRange(from, to int32) []Violation {
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

// ValidateCountsQuery checks a GetAgreementCounts request.
func ValidateCountsQuery(partner string, from, to int32) []Violation {
	var vs []Violation
	if partner == "" {
		vs = append(vs, Violation{"partner", "is required (an entity code such as GE, or \"unresolved\")"})
	}
	return append(vs, ValidateYearRange(from, to)...)
}

// RecordKey names the record an enriched event is about ("agreement/<id>",
// "trade_figure/<id>"), so versions and retractions of one record can be
// kept in order while other records are applied concurrently. An
// undecodable body gets "" (it is dead-lettered anyway).
//
// It runs for every message before a worker takes it, so it reads the id
// straight from the encoding (recordIDPaths) instead of decoding the whole
// event. For a well-formed event it answers what decoding gives; of a
// malformed one it only notices what lies on the way to the id, which is
// harmless: the key only picks the worker that dead-letters it.
func RecordKey(subject string, data []byte) string {
	var prefix string
	var path []protowire.Number
	switch k := KindOf(subject); k {
	case KindAgreement, KindAgreementRetraction:
		prefix, path = "agreement/", recordIDPaths[k]
	case KindTradeFigure, KindTradeRetraction:
		prefix, path = "trade_figure/", recordIDPaths[k]
	default:
		return ""
	}
	id, ok := wirefield.String(data, path)
	if !ok {
		return ""
	}
	return prefix + id
}

// recordIDPaths are the field numbers leading to the record id in each
// kind of event.
var recordIDPaths = map[Kind][]protowire.Number{
	KindAgreement:           wirefield.Path((*bilatv1.AgreementRecorded)(nil), "agreement", "id"),
	KindTradeFigure:         wirefield.Path((*bilatv1.TradeFigureRecorded)(nil), "figure", "id"),
	KindAgreementRetraction: wirefield.Path((*bilatv1.AgreementRetracted)(nil), "agreement_id"),
	KindTradeRetraction:     wirefield.Path((*bilatv1.TradeFigureRetracted)(nil), "figure_id"),
}
