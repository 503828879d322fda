package ports

import (
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// A response carrying encoded records reaches the client as if it had been
// built from the decoded records.
func TestWithEncodedDecodesAsTheField(t *testing.T) {
	as := []*bilatv1.Agreement{
		{Id: "a1", Title: "Treaty", Revision: 2, Partner: &bilatv1.EntityRef{Code: "GE"}},
		{Id: "a2", Domains: []bilatv1.Domain{bilatv1.Domain_DOMAIN_TRADE, bilatv1.Domain_DOMAIN_CULTURE}},
		{},
	}
	var enc [][]byte
	for _, a := range as {
		b, err := proto.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, b)
	}
	cases := []struct {
		got, want proto.Message
	}{
		{withEncoded(&bilatv1.ListAgreementsResponse{NextPageToken: "t", TotalSize: 9}, "agreements", enc...),
			&bilatv1.ListAgreementsResponse{Agreements: as, NextPageToken: "t", TotalSize: 9}},
		{withEncoded(&bilatv1.ListAgreementsResponse{}, "agreements"), &bilatv1.ListAgreementsResponse{}},
		{withEncoded(&bilatv1.GetAgreementResponse{}, "agreement", enc[0]), &bilatv1.GetAgreementResponse{Agreement: as[0]}},
	}
	for _, c := range cases {
		b, err := proto.Marshal(c.got)
		if err != nil {
			t.Fatal(err)
		}
		got := c.want.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(b, got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, c.want) {
			t.Errorf("decoded %v, want %v", got, c.want)
		}
	}
}

func TestWithEncodedRejectsAFieldThatIsNoMessage(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a string field")
		}
	}()
	withEncoded(&bilatv1.ListAgreementsResponse{}, "next_page_token", []byte{})
}
