package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Record types of retractions: their idempotency keys live in namespaces of
// their own, so a retraction never collides with a submission.
const (
	TypeAgreementRetraction   = "agreement_retraction"
	TypeTradeFigureRetraction = "trade_figure_retraction"
)

// MaxReasonLength bounds a retraction's reason, in characters.
const MaxReasonLength = 1000

// NormalizeReason trims the reason's surrounding space.
func NormalizeReason(reason string) string { return strings.TrimSpace(reason) }

// ValidateRetraction checks a retraction: the id of the record withdrawn
// (the pattern of record ids) and a reason.
func ValidateRetraction(idField, id, reason string) []Violation {
	var c collector
	switch {
	case id == "":
		c.add(idField, "is required: the id of the record to retract")
	case !idPattern.MatchString(id):
		c.add(idField, "must match %s (lower-case letters, digits, '.', '_', '-'; at most 128), got %q", idPattern, truncate(id, 40))
	}
	switch {
	case reason == "":
		c.add("reason", "is required: say why the record is withdrawn")
	case utf8.RuneCountInString(reason) > MaxReasonLength:
		c.add("reason", "must be at most %d characters", MaxReasonLength)
	case !utf8.ValidString(reason):
		c.add("reason", "must be valid UTF-8")
	}
	return c.list
}

// RetractionHash is the content hash of a retraction (the default
// idempotency key): the same id and reason retract once.
func RetractionHash(recordType, id, reason string) string {
	sum := sha256.Sum256([]byte(recordType + "\x00" + id + "\x00" + reason))
	return hex.EncodeToString(sum[:])
}
