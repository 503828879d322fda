// Package domain holds the ingest rules: normalisation, validation and the
// derivation of idempotency keys, event ids and record ids. It does no I/O.
package domain

import (
	"fmt"
	"strconv"
	"strings"
)

// Violation names one bad field of a submitted record.
type Violation struct {
	// Field is the path of the field from the request root, such as
	// "agreement.signed_on.month" or "figure.sources[2].url".
	Field       string
	Description string
}

func (v Violation) String() string { return v.Field + ": " + v.Description }

// FormatViolations joins violations into one readable line, used where
// there is no structured channel for them (dead-letter reasons).
func FormatViolations(vs []Violation) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, "; ")
}

// collector gathers every violation instead of stopping at the first, so a
// publisher can fix a record in one round trip.
type collector struct {
	list []Violation
}

func (c *collector) add(field, format string, args ...any) {
	c.list = append(c.list, Violation{Field: field, Description: fmt.Sprintf(format, args...)})
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func mapKey(path, key string) string { return fmt.Sprintf("%s[%q]", path, key) }
