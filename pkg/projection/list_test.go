package projection_test

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// listAll pages through f and returns the ids per page.
func listAll(t *testing.T, s *projection.Store, f projection.AgreementFilter, size int) ([][]string, int64) {
	t.Helper()
	var pages [][]string
	token := ""
	var total int64 = -1
	for {
		p, err := s.ListAgreements(context.Background(), f, size, token)
		if err != nil {
			t.Fatal(err)
		}
		if total >= 0 && p.TotalSize != total {
			t.Fatalf("total changed between pages: %d -> %d", total, p.TotalSize)
		}
		total = p.TotalSize
		pages = append(pages, idsOf(t, p))
		if p.NextPageToken == "" {
			return pages, total
		}
		if len(pages) > 100 {
			t.Fatal("pagination does not end")
		}
		token = p.NextPageToken
	}
}

func seedList(t *testing.T, s *projection.Store) {
	t.Helper()
	for i, ev := range []*bilatv1.AgreementRecorded{
		agr("e1", 1, "ge-1997", "GE", date(1997, 0, 0), trade),
		agr("e2", 2, "ge-2017-03", "GE", date(2017, 3, 0), trade, culture),
		agr("e3", 3, "ge-2017", "GE", date(2017, 0, 0), culture),
		agr("e4", 4, "ge-2017-03-15", "GE", date(2017, 3, 15), science),
		agr("e5", 5, "ge-undated", "GE", nil, trade),
		agr("e6", 6, "am-2018", "AM", date(2018, 6, 1), trade),
		agr("e7", 7, "am-2017", "AM", date(2017, 1, 1), health),
	} {
		if _, err := s.ApplyAgreement(context.Background(), ev); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
	}
}

func TestListAgreementsFiltersAndOrder(t *testing.T) {
	s, _ := newStore(t)
	seedList(t, s)
	for _, tc := range []struct {
		name string
		f    projection.AgreementFilter
		want []string
	}{
		{"all", projection.AgreementFilter{},
			[]string{"am-2018", "ge-2017-03-15", "ge-2017-03", "am-2017", "ge-2017", "ge-1997", "ge-undated"}},
		{"partner", projection.AgreementFilter{Partner: "GE"},
			[]string{"ge-2017-03-15", "ge-2017-03", "ge-2017", "ge-1997", "ge-undated"}},
		{"partner and domain", projection.AgreementFilter{Partner: "GE", Domain: trade},
			[]string{"ge-2017-03", "ge-1997", "ge-undated"}},
		{"domain", projection.AgreementFilter{Domain: trade},
			[]string{"am-2018", "ge-2017-03", "ge-1997", "ge-undated"}},
		{"year range", projection.AgreementFilter{FromYear: 2017, ToYear: 2017},
			[]string{"ge-2017-03-15", "ge-2017-03", "am-2017", "ge-2017"}},
		{"open start leaves undated out", projection.AgreementFilter{Partner: "GE", ToYear: 2000},
			[]string{"ge-1997"}},
		{"open end", projection.AgreementFilter{Domain: culture, FromYear: 2017},
			[]string{"ge-2017-03", "ge-2017"}},
		{"unknown partner", projection.AgreementFilter{Partner: "XX"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages, total := listAll(t, s, tc.f, 0)
			if len(pages) != 1 || !slices.Equal(pages[0], tc.want) || total != int64(len(tc.want)) {
				t.Fatalf("pages %v total %d, want %v", pages, total, tc.want)
			}
		})
	}
}

func TestListAgreementsPagination(t *testing.T) {
	s, _ := newStore(t)
	seedList(t, s)
	pages, total := listAll(t, s, projection.AgreementFilter{}, 3)
	want := [][]string{
		{"am-2018", "ge-2017-03-15", "ge-2017-03"},
		{"am-2017", "ge-2017", "ge-1997"},
		{"ge-undated"},
	}
	if total != 7 || len(pages) != len(want) {
		t.Fatalf("pages %v total %d, want %v", pages, total, want)
	}
	for i := range want {
		if !slices.Equal(pages[i], want[i]) {
			t.Fatalf("page %d = %v, want %v", i, pages[i], want[i])
		}
	}
	// An exact multiple of the page size ends without an empty page.
	pages, _ = listAll(t, s, projection.AgreementFilter{Partner: "GE", FromYear: 1990}, 2)
	if len(pages) != 2 || len(pages[1]) != 2 {
		t.Fatalf("pages = %v", pages)
	}
}

func TestListAgreementsTiesAcrossPages(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	ids := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"}
	for i, id := range ids {
		applyA(t, s, agr("e"+id, uint64(i+1), id, "GE", nil), projection.Applied)
	}
	pages, total := listAll(t, s, projection.AgreementFilter{Partner: "GE"}, 2)
	var flat []string
	for _, p := range pages {
		flat = append(flat, p...)
	}
	if total != 7 || !slices.Equal(flat, []string{"u7", "u6", "u5", "u4", "u3", "u2", "u1"}) {
		t.Fatalf("pages %v total %d", pages, total)
	}

	// The cursor's own record is re-dated (then moved away) between pages:
	// the next page still resumes right after the cursor position.
	f := projection.AgreementFilter{Partner: "GE"}
	p1, err := s.ListAgreements(ctx, f, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	applyA(t, s, agr("eu6b", 100, "u6", "GE", date(2030, 0, 0)), projection.Applied)
	p2, err := s.ListAgreements(ctx, f, 2, p1.NextPageToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := idsOf(t, p2); !slices.Equal(got, []string{"u5", "u4"}) {
		t.Fatalf("page after re-dated cursor = %v", got)
	}
	applyA(t, s, agr("eu4b", 101, "u4", "AM", nil), projection.Applied)
	p3, err := s.ListAgreements(ctx, f, 2, p2.NextPageToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := idsOf(t, p3); !slices.Equal(got, []string{"u3", "u2"}) {
		t.Fatalf("page after moved cursor = %v", got)
	}
}

// idsOf decodes a page's agreements and returns their ids.
func idsOf(t *testing.T, p *projection.AgreementPage) []string {
	t.Helper()
	as, err := p.Agreements()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range as {
		ids = append(ids, a.GetId())
	}
	return ids
}

func TestListAgreementsRejectsForeignTokens(t *testing.T) {
	s, _ := newStore(t)
	seedList(t, s)
	ctx := context.Background()
	p, err := s.ListAgreements(ctx, projection.AgreementFilter{Partner: "GE"}, 2, "")
	if err != nil || p.NextPageToken == "" {
		t.Fatalf("first page: %v, %v", p, err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(p.NextPageToken)
	flipped := append([]byte{}, raw...)
	flipped[len(flipped)/2] ^= 0x01
	for name, tc := range map[string]struct {
		f     projection.AgreementFilter
		token string
	}{
		"other partner": {projection.AgreementFilter{Partner: "AM"}, p.NextPageToken},
		"other domain":  {projection.AgreementFilter{Partner: "GE", Domain: trade}, p.NextPageToken},
		"other years":   {projection.AgreementFilter{Partner: "GE", FromYear: 2000}, p.NextPageToken},
		"not base64":    {projection.AgreementFilter{Partner: "GE"}, "%%%"},
		"not json":      {projection.AgreementFilter{Partner: "GE"}, base64.RawURLEncoding.EncodeToString([]byte("hello"))},
		"tampered":      {projection.AgreementFilter{Partner: "GE"}, base64.RawURLEncoding.EncodeToString(flipped)},
		"empty object":  {projection.AgreementFilter{Partner: "GE"}, base64.RawURLEncoding.EncodeToString([]byte("{}"))},
	} {
		if _, err := s.ListAgreements(ctx, tc.f, 2, tc.token); !errors.Is(err, projection.ErrInvalidPageToken) {
			t.Errorf("%s: err = %v, want ErrInvalidPageToken", name, err)
		}
	}
	// The page size may change between pages.
	if _, err := s.ListAgreements(ctx, projection.AgreementFilter{Partner: "GE"}, 3, p.NextPageToken); err != nil {
		t.Fatalf("other page size: %v", err)
	}
}

func TestGetAgreementNotFound(t *testing.T) {
	s, _ := newStore(t)
	for _, id := range []string{"missing", "", "with space"} {
		if _, err := s.GetAgreement(context.Background(), id); !errors.Is(err, projection.ErrNotFound) {
			t.Errorf("GetAgreement(%q) err = %v, want ErrNotFound", id, err)
		}
	}
}
