package projection

import (
	"fmt"
	"strconv"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Fields of a record HASH (agr:doc:<id>, trade:fig:<id>), which the Lua
// scripts write.
const (
	fieldData    = "pb"      // agreements: the current version's wire encoding (wire.go); trade: in TradeCurrent
	fieldEvent   = "event"   // id of the event that wrote this version
	fieldSeq     = "seq"     // OrderKey of its envelope (decimal)
	fieldRev     = "rev"     // versions applied so far, 1 for the first
	fieldUpdated = "updated" // trade: when the projection applied it, Unix nanoseconds (decimal)
	fieldScore   = "score"   // agreements: DateScore; trade: PeriodScore
	fieldYear    = "year"    // agreements: signing year, 0 when undated
	fieldDomains = "domains" // agreements: comma-separated DomainNames, "" when none
	fieldSeries  = "series"  // trade: SeriesKey
)

// Version is what a trade figure's current version in TradeCurrent
// carries besides its protobuf bytes: the fields the projection owns.
type Version struct {
	// Revision counts the versions applied: 1 for the first.
	Revision int32
	// UpdatedAt is when the projection applied the version.
	UpdatedAt time.Time
}

// parseVersion reads the revision and updated time of a TradeCurrent value.
func parseVersion(revS, updatedS string) (Version, error) {
	rev, err := strconv.ParseInt(revS, 10, 32)
	if err != nil {
		return Version{}, fmt.Errorf("decode version: revision %q: %w", revS, err)
	}
	ns, err := strconv.ParseInt(updatedS, 10, 64)
	if err != nil {
		return Version{}, fmt.Errorf("decode version: updated %q: %w", updatedS, err)
	}
	return Version{Revision: int32(rev), UpdatedAt: time.Unix(0, ns).UTC()}, nil
}

func encodeTime(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) }

// enrichmentVersionBits is the room OrderKey leaves for re-enrichments.
const enrichmentVersionBits = 10

// OrderKey orders the versions of one record: by the event's sequence in
// BILAT_EVENTS, then by how often enrichment re-enriched that event (an
// operator's gazetteer change makes a newer version of the same event).
// It stays below 2^53, where Lua compares numbers exactly, for sequences
// below 2^43.
func OrderKey(env *bilatv1.Envelope) uint64 {
	ev := uint64(env.GetEnrichmentVersion())
	if max := uint64(1)<<enrichmentVersionBits - 1; ev > max {
		ev = max
	}
	return env.GetSequence()<<enrichmentVersionBits | ev
}
