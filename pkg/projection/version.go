package projection

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Fields of a record HASH (agr:doc:<id>, trade:fig:<id>). The Lua scripts
// write them; Go reads them back through DecodeVersion (the readers, through wireOf).
const (
	fieldData    = "pb"      // agreements: protobuf bytes as received (revision/updated_at unset); trade: in TradeCurrent
	fieldEvent   = "event"   // id of the event that wrote this version
	fieldSeq     = "seq"     // OrderKey of its envelope (decimal)
	fieldRev     = "rev"     // versions applied so far, 1 for the first
	fieldUpdated = "updated" // when the projection applied it, Unix nanoseconds (decimal)
	fieldScore   = "score"   // agreements: DateScore; trade: PeriodScore
	fieldYear    = "year"    // agreements: signing year, 0 when undated
	fieldDomains = "domains" // agreements: comma-separated DomainNames, "" when none
	fieldSeries  = "series"  // trade: SeriesKey
)

// Version is the metadata stored next to a record's protobuf bytes.
type Version struct {
	// EventID is the id of the event that wrote this version.
	EventID string
	// Sequence is OrderKey of that event's envelope; a higher one is newer.
	Sequence uint64
	// Revision counts the versions applied: 1 for the first.
	Revision int32
	// UpdatedAt is when the projection applied the version.
	UpdatedAt time.Time
}

// errNoVersion means a record HASH lacks its metadata (it does not exist).
var errNoVersion = errors.New("projection: record has no version metadata")

// EncodeVersion is the HASH form of v (what the Lua scripts write).
func EncodeVersion(v Version) map[string]string {
	return map[string]string{
		fieldEvent:   v.EventID,
		fieldSeq:     strconv.FormatUint(v.Sequence, 10),
		fieldRev:     strconv.FormatInt(int64(v.Revision), 10),
		fieldUpdated: encodeTime(v.UpdatedAt),
	}
}

// DecodeVersion reads the version metadata of a record HASH.
func DecodeVersion(h map[string]string) (Version, error) {
	seq, ok := h[fieldSeq]
	if !ok {
		return Version{}, errNoVersion
	}
	v, err := parseVersion(seq, h[fieldRev], h[fieldUpdated])
	v.EventID = h[fieldEvent]
	return v, err
}

// parseVersion reads the seq, rev and updated fields of a record HASH.
func parseVersion(seqS, revS, updatedS string) (Version, error) {
	seq, err := strconv.ParseUint(seqS, 10, 64)
	if err != nil {
		return Version{}, fmt.Errorf("decode version: sequence %q: %w", seqS, err)
	}
	rev, err := strconv.ParseInt(revS, 10, 32)
	if err != nil {
		return Version{}, fmt.Errorf("decode version: revision %q: %w", revS, err)
	}
	ns, err := strconv.ParseInt(updatedS, 10, 64)
	if err != nil {
		return Version{}, fmt.Errorf("decode version: updated %q: %w", updatedS, err)
	}
	return Version{Sequence: seq, Revision: int32(rev), UpdatedAt: time.Unix(0, ns).UTC()}, nil
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
