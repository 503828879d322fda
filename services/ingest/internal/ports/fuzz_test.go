package ports

import (
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/proto"

	"bilat.dev/services/ingest/internal/domain"
)

// FuzzDecodeBody feeds arbitrary bodies and content types to the raw
// door's decoder, then to normalisation and validation, as the consumer
// does. A body accepted as valid must survive a protobuf round trip with
// the same content hash (the event carries protobuf).
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"title":"Treaty","kind":"AGREEMENT_KIND_TREATY","status":"AGREEMENT_STATUS_SIGNED","partner":{"name":"Georgia"}}`), "")
	f.Add([]byte(`{"title":"x","signedOn":{"year":2019,"month":2,"day":29}}`), "application/json")
	f.Add([]byte("\x12\x06Treaty\x18\x01"), "application/protobuf")
	f.Add([]byte(" "), "")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		var a bilatv1.Agreement
		if DecodeBody(body, contentType, &a) != nil {
			return
		}
		domain.NormalizeAgreement(&a)
		if len(domain.ValidateAgreement(&a, "agreement")) > 0 {
			return
		}
		h1, err := domain.ContentHash(&a)
		if err != nil {
			t.Fatalf("valid record does not hash: %v", err)
		}
		b, err := proto.Marshal(&a)
		if err != nil {
			t.Fatal(err)
		}
		var back bilatv1.Agreement
		if err := DecodeBody(b, "", &back); err != nil {
			// A protobuf encoding may start with '{' (a group tag); such a
			// record has an unknown field and was rejected above.
			t.Fatalf("protobuf of a valid record does not decode: %v", err)
		}
		h2, err := domain.ContentHash(&back)
		if err != nil {
			t.Fatal(err)
		}
		if h1 != h2 {
			t.Fatal("content hash changed over a protobuf round trip")
		}
	})
}
