package projection

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Wire encodings of stored records.
//
// The projection owns two fields of a record: revision and updated_at. A
// stored version is the message as received without them (marshalRecord)
// followed by the projection's own two, which the protobuf wire format
// allows: fields may follow one another in any order. A reader that only
// forwards records (the gateway's GetAgreement and ListAgreements)
// therefore never decodes and re-encodes them, which was about half of the
// gateway's CPU per page.
//
// An agreement's record HASH keeps that whole encoding in "pb": statistics
// appends updated_at to the bytes it sends (appendUpdatedAt), and the apply
// script appends the revision it counts (luaRevision). A read is one field,
// forwarded as Redis returned it. A trade figure keeps "<revision>:<updated>:
// <bytes>" in its partner's TradeCurrent HASH instead, and its readers
// append the two fields (wireRecord).

// ownedFields are the field numbers of revision and updated_at in a
// record message.
type ownedFields struct{ revision, updatedAt protowire.Number }

func ownedFieldsOf(m proto.Message) ownedFields {
	return ownedFields{revision: fieldNumber(m, "revision"), updatedAt: fieldNumber(m, "updated_at")}
}

var (
	agreementOwned = ownedFieldsOf((*bilatv1.Agreement)(nil))
	figureOwned    = ownedFieldsOf((*bilatv1.TradeFigure)(nil))
)

// maxOwnedSize bounds what wireRecord adds to the stored bytes, for
// field numbers below 2048: revision (a tag of up to 2 bytes and a
// sign-extended varint of up to 10) and updated_at (a tag of up to 2, a
// length of 1 and a Timestamp: seconds up to 11 bytes, nanos up to 6).
const maxOwnedSize = 32

// wireRecord is the full encoding of a stored trade figure: its bytes as
// TradeCurrent keeps them, then revision and updated_at.
func wireRecord(data string, v Version, owned ownedFields) []byte {
	b := make([]byte, 0, len(data)+maxOwnedSize)
	b = append(b, data...)
	if v.Revision != 0 {
		b = protowire.AppendTag(b, owned.revision, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(v.Revision))) // int32 encodes sign-extended
	}
	return appendUpdatedAt(b, owned.updatedAt, v.UpdatedAt)
}

// appendUpdatedAt appends t as the google.protobuf.Timestamp field num.
func appendUpdatedAt(b []byte, num protowire.Number, t time.Time) []byte {
	// google.protobuf.Timestamp: seconds = 1, nanos = 2.
	secs, nanos := t.Unix(), int32(t.Nanosecond())
	var tsBuf [17]byte // see maxOwnedSize; on the stack
	ts := tsBuf[:0]
	if secs != 0 {
		ts = protowire.AppendTag(ts, 1, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(secs))
	}
	if nanos != 0 {
		ts = protowire.AppendTag(ts, 2, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(int64(nanos)))
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, ts)
}

// luaRevision defines revisionField(rev) for the apply script: the
// encoding of an agreement's revision field, which the script appends to
// the bytes it stores once it has counted the revision. A revision is
// positive and below 2^31, where a Lua number is an exact integer.
var luaRevision = func() string {
	var tag strings.Builder
	for _, c := range protowire.AppendTag(nil, agreementOwned.revision, protowire.VarintType) {
		fmt.Fprintf(&tag, "\\%03d", c) // Lua 5.1 escapes bytes in decimal
	}
	return `local REVISION_TAG = "` + tag.String() + `"
local function revisionField(rev)
  local out = {REVISION_TAG}
  while rev >= 128 do
    out[#out + 1] = string.char(rev % 128 + 128)
    rev = math.floor(rev / 128)
  end
  out[#out + 1] = string.char(rev)
  return table.concat(out)
end
`
}()

// DecodeAgreement decodes the wire encoding of an agreement (what
// GetAgreementWire and AgreementPage hold).
func DecodeAgreement(b []byte) (*bilatv1.Agreement, error) {
	a := &bilatv1.Agreement{}
	if err := proto.Unmarshal(b, a); err != nil {
		return nil, fmt.Errorf("decode agreement: %w", err)
	}
	return a, nil
}

// EncodeAgreement is the wire encoding of a decoded agreement, for pages
// assembled from decoded candidates.
func EncodeAgreement(a *bilatv1.Agreement) ([]byte, error) {
	b, err := proto.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode agreement %q: %w", a.GetId(), err)
	}
	return b, nil
}

// figureView is what ordering a series needs of a trade figure.
type figureView struct {
	period       [][]byte // the encodings of its period field, in order (decodePeriod)
	newestSource int64    // the latest DateScore among its sources' publication dates
}

// decodePeriod is the figure's period (nil when it has none). Only the
// first figure of a point needs it, so viewFigure leaves it encoded.
func (v figureView) decodePeriod() (*bilatv1.Period, error) {
	if len(v.period) == 0 {
		return nil, nil
	}
	p := &bilatv1.Period{}
	for _, b := range v.period { // occurrences merge, as proto.Unmarshal does
		if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(b, p); err != nil {
			return nil, fmt.Errorf("read trade figure period: %w", err)
		}
	}
	return p, nil
}

var (
	figurePeriod    = fieldNumber((*bilatv1.TradeFigure)(nil), "period")
	figureSources   = fieldNumber((*bilatv1.TradeFigure)(nil), "sources")
	sourcePublished = fieldNumber((*bilatv1.Source)(nil), "published")
	dateYear        = fieldNumber((*bilatv1.PartialDate)(nil), "year")
	dateMonth       = fieldNumber((*bilatv1.PartialDate)(nil), "month")
	dateDay         = fieldNumber((*bilatv1.PartialDate)(nil), "day")
)

func fieldNumber(m proto.Message, name protoreflect.Name) protowire.Number {
	return m.ProtoReflect().Descriptor().Fields().ByName(name).Number()
}

// viewFigure reads a figure's newest source date from its wire encoding
// and keeps where its period is, decoding nothing else (a figure's names,
// notes and quotes are most of its bytes) and allocating nothing per
// source. A message field that occurs more than once is merged, as
// proto.Unmarshal does.
func viewFigure(b []byte) (figureView, error) {
	var v figureView
	err := eachField(b, func(num protowire.Number, val []byte) error {
		switch num {
		case figurePeriod:
			v.period = append(v.period, val)
		case figureSources:
			var d bilatv1.PartialDate
			err := eachField(val, func(num protowire.Number, val []byte) error {
				if num != sourcePublished {
					return nil
				}
				return readDate(val, &d)
			})
			v.newestSource = max(v.newestSource, DateScore(&d))
			return err
		}
		return nil
	})
	if err != nil {
		return figureView{}, fmt.Errorf("read trade figure: %w", err)
	}
	return v, nil
}

// readDate merges the encoded PartialDate b into d: each of year, month
// and day it holds replaces d's.
func readDate(b []byte, d *bilatv1.PartialDate) error {
	return eachValue(b, func(num protowire.Number, typ protowire.Type, val []byte) error {
		if typ != protowire.VarintType {
			return nil
		}
		x, n := protowire.ConsumeVarint(val)
		if n < 0 {
			return protowire.ParseError(n)
		}
		switch num {
		case dateYear:
			d.Year = int32(x)
		case dateMonth:
			d.Month = int32(x)
		case dateDay:
			d.Day = int32(x)
		}
		return nil
	})
}

// eachField calls f with the number and contents of every length-delimited
// field of the encoded message b, in order, and skips the other fields.
func eachField(b []byte, f func(num protowire.Number, val []byte) error) error {
	return eachValue(b, func(num protowire.Number, typ protowire.Type, val []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		return f(num, val)
	})
}

// eachValue calls f with the number, wire type and value of every field
// of the encoded message b, in order: a length-delimited field's contents,
// any other field's encoded value.
func eachValue(b []byte, f func(num protowire.Number, typ protowire.Type, val []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		val := b[:n]
		if typ == protowire.BytesType {
			val, _ = protowire.ConsumeBytes(val) // whole: ConsumeFieldValue checked it
		}
		b = b[n:]
		if err := f(num, typ, val); err != nil {
			return err
		}
	}
	return nil
}
