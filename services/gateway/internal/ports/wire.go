package ports

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// withEncoded sets the message field of m named field to already encoded
// messages (several for a repeated field, one for a singular one) and
// returns m.
//
// The records the projection stores are forwarded as they are
// (projection.GetAgreementWire, AgreementPage.Wire): they travel in m's
// unknown fields, which proto.Marshal writes out verbatim, and a client
// decodes them as the field they are tagged with. Decoding them only to
// encode them again was about half of the gateway's CPU per page. Only
// the gRPC encoding carries them, so m must go straight to the wire: the
// HTTP API reaches these handlers through a gRPC connection too.
func withEncoded[M proto.Message](m M, field protoreflect.Name, encoded ...[]byte) M {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(field)
	if fd == nil || fd.Kind() != protoreflect.MessageKind {
		panic("withEncoded: " + string(r.Descriptor().FullName()) + " has no message field " + string(field))
	}
	num, size := fd.Number(), 0
	for _, b := range encoded {
		size += protowire.SizeTag(num) + protowire.SizeBytes(len(b))
	}
	raw := append(make([]byte, 0, len(r.GetUnknown())+size), r.GetUnknown()...)
	for _, b := range encoded {
		raw = protowire.AppendTag(raw, num, protowire.BytesType)
		raw = protowire.AppendBytes(raw, b)
	}
	r.SetUnknown(raw)
	return m
}
