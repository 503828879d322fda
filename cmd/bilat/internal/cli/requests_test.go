package cli

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestListFlagsRequest(t *testing.T) {
	flt := func(f *bilatv1.AgreementFilter) *bilatv1.AgreementFilter { return f }
	tests := []struct {
		name    string
		f       listFlags
		want    *bilatv1.ListAgreementsRequest
		errPart string
	}{
		{name: "empty", f: listFlags{}, want: &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{}}},
		{name: "every filter",
			f: listFlags{filterFlags: filterFlags{partner: " RU ", withSub: true, bloc: "bloc.cis", domain: "science_technology", level: "government",
				kind: "memorandum", status: "signed", from: "2017", to: "2019-06-30", place: "Minsk", query: "econom"},
				sort: "relevance", pageSize: 20, pageToken: "tok"},
			want: &bilatv1.ListAgreementsRequest{Filter: flt(&bilatv1.AgreementFilter{Partner: "RU", IncludeSubEntities: true, Bloc: "bloc.cis",
				Domain: bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY, Level: bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT,
				Kind: bilatv1.AgreementKind_AGREEMENT_KIND_MEMORANDUM, Status: bilatv1.AgreementStatus_AGREEMENT_STATUS_SIGNED,
				SignedFrom: &bilatv1.PartialDate{Year: 2017}, SignedTo: &bilatv1.PartialDate{Year: 2019, Month: 6, Day: 30},
				Place: "Minsk", Query: "econom"}),
				OrderBy: bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE, PageSize: 20, PageToken: "tok"}},
		{name: "month precision", f: listFlags{filterFlags: filterFlags{from: "2017-03", to: "2017-03"}, sort: "oldest"},
			want: &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{SignedFrom: &bilatv1.PartialDate{Year: 2017, Month: 3},
				SignedTo: &bilatv1.PartialDate{Year: 2017, Month: 3}}, OrderBy: bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC}},
		{name: "year against month", f: listFlags{filterFlags: filterFlags{from: "2017", to: "2017-01"}},
			want: &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{SignedFrom: &bilatv1.PartialDate{Year: 2017},
				SignedTo: &bilatv1.PartialDate{Year: 2017, Month: 1}}}},
		{name: "limit caps the page", f: listFlags{limit: 5}, want: &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{}, PageSize: 5}},
		{name: "max page", f: listFlags{pageSize: 500}, want: &bilatv1.ListAgreementsRequest{Filter: &bilatv1.AgreementFilter{}, PageSize: 500}},
		{name: "bad domain", f: listFlags{filterFlags: filterFlags{domain: "scitech"}}, errPart: `--domain: unknown domain "scitech"`},
		{name: "bad level", f: listFlags{filterFlags: filterFlags{level: "galactic"}}, errPart: `--level: unknown party_level "galactic"`},
		{name: "from after to", f: listFlags{filterFlags: filterFlags{from: "2019", to: "2017-12-31"}}, errPart: "--from 2019 is after --to 2017-12-31"},
		{name: "bad date", f: listFlags{filterFlags: filterFlags{from: "17"}}, errPart: "--from \"17\": want a year"},
		{name: "bad month", f: listFlags{filterFlags: filterFlags{to: "2017-13"}}, errPart: "month must be 01..12"},
		{name: "bad day", f: listFlags{filterFlags: filterFlags{to: "2017-02-30"}}, errPart: "no such day"},
		{name: "sub-entities without partner", f: listFlags{filterFlags: filterFlags{withSub: true}}, errPart: "--with-subentities needs --partner"},
		{name: "relevance without query", f: listFlags{sort: "relevance"}, errPart: "needs --query"},
		{name: "bad sort", f: listFlags{sort: "size"}, errPart: "--sort must be"},
		{name: "page too big", f: listFlags{pageSize: 501}, errPart: "--page-size must be 1..500"},
		{name: "negative limit", f: listFlags{limit: -1}, errPart: "--limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.request()
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLooksLikeCode(t *testing.T) {
	for s, want := range map[string]bool{"GE": true, "RU-STA": true, "GE-AJ.batumi": true, "bloc.cis": true, "org.by.bntu": true,
		"Georgia": false, "ge": false, "Gorgia": false, "Ставрополь": false, "China ": false, "BY-MA": true} {
		if got := looksLikeCode(s); got != want {
			t.Errorf("looksLikeCode(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestSeriesFlagsRequest(t *testing.T) {
	tests := []struct {
		name    string
		partner string
		f       seriesFlags
		want    *bilatv1.GetTradeSeriesRequest
		errPart string
	}{
		{name: "partner only", partner: "AF", want: &bilatv1.GetTradeSeriesRequest{Partner: "AF"}},
		{name: "all", partner: "GE", f: seriesFlags{reporter: "BY", flow: "exports", from: 2010, to: 2018},
			want: &bilatv1.GetTradeSeriesRequest{Partner: "GE", Reporter: "BY", Flow: bilatv1.TradeFlow_TRADE_FLOW_EXPORTS, FromYear: 2010, ToYear: 2018}},
		{name: "balance", partner: "CN", f: seriesFlags{flow: "balance"}, want: &bilatv1.GetTradeSeriesRequest{Partner: "CN", Flow: bilatv1.TradeFlow_TRADE_FLOW_BALANCE}},
		{name: "empty partner", partner: "  ", errPart: "PARTNER must not be empty"},
		{name: "bad flow", partner: "AF", f: seriesFlags{flow: "investment"}, errPart: `--flow: unknown trade_flow "investment"`},
		{name: "bad range", partner: "AF", f: seriesFlags{from: 2020, to: 2019}, errPart: "after --to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.request(tt.partner)
			if tt.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errPart) {
					t.Fatalf("err = %v, want %q", err, tt.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSelfName(t *testing.T) {
	for in, want := range map[string]string{"bin/bilat": "bin/bilat", "./bin/bilat": "bin/bilat", "bilat": "bilat", "/nonexistent/x/bilat": "bilat"} {
		if got := selfName(in); got != want {
			t.Errorf("selfName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aa bb cc dd", 5, "> ")
	if got != "aa bb\n> cc\n> dd" {
		t.Errorf("wrap = %q", got)
	}
}
