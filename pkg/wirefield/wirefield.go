// Package wirefield reads one string field from an encoded protobuf
// message without decoding the message.
//
// Consumers key every message by the record it is about before a worker
// takes it, so that events of one record stay in order; reading the id
// from the wire costs a fraction of decoding the event, which the worker
// does anyway.
package wirefield

import (
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Path is the field numbers of the named fields of m, each name a field of
// the message field before it. It panics when a field does not exist: paths
// are built once, from generated messages.
func Path(m proto.Message, names ...protoreflect.Name) []protowire.Number {
	d := m.ProtoReflect().Descriptor()
	var out []protowire.Number
	for i, name := range names {
		fd := d.Fields().ByName(name)
		if fd == nil {
			panic(fmt.Sprintf("wirefield: %s has no field %s", d.FullName(), name))
		}
		out = append(out, fd.Number())
		if i+1 < len(names) {
			if d = fd.Message(); d == nil {
				panic(fmt.Sprintf("wirefield: field %s is not a message", fd.FullName()))
			}
		}
	}
	return out
}

// String reads the string field at path (message fields, then the string)
// from the encoded message b as decoding would: the last value wins,
// occurrences of a message field merge, an absent field is "". ok is false
// when b is malformed on the way to the field or the string is not UTF-8.
// Of a malformed message it only notices what lies on that way.
func String(b []byte, path []protowire.Number) (s string, ok bool) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		if num != path[0] || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return "", false
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return "", false
		}
		b = b[n:]
		if len(path) == 1 {
			if !utf8.Valid(v) {
				return "", false
			}
			s = string(v)
			continue
		}
		inner, innerOK := String(v, path[1:])
		if !innerOK {
			return "", false
		}
		if inner != "" {
			s = inner // an occurrence without the field keeps the earlier value
		}
	}
	return s, true
}
