package domain_test

import (
	"slices"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

func TestFoldAndWords(t *testing.T) {
	for in, want := range map[string][]string{
		"Соглашение об ЭКОНОМИЧЕСКОМ сотрудничестве": {"соглашение", "об", "экономическом", "сотрудничестве"},
		"Tbílisi, Georgia":   {"tbilisi", "georgia"},
		"Ёлка-2018 (Минск)":  {"елка", "2018", "минск"},
		"  ":                 nil,
		"Zürich & São Paulo": {"zurich", "sao", "paulo"},
		"ОБЪЕДИНЁННЫЕ Эмираты":     {"объединенные", "эмираты"},
		"Science-Technology 2.0":   {"science", "technology", "2", "0"},
		"Беларусь–Грузия, 2018 г.": {"беларусь", "грузия", "2018", "г"},
	} {
		if got := domain.Words(in); !slices.Equal(got, want) {
			t.Errorf("Words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatcherDatesAndBloc(t *testing.T) {
	pd := func(y, m, d int32) *bilatv1.PartialDate { return &bilatv1.PartialDate{Year: y, Month: m, Day: d} }
	ag := func(code string, d *bilatv1.PartialDate) *bilatv1.Agreement {
		return &bilatv1.Agreement{Id: code, Partner: &bilatv1.EntityRef{Code: code, Country: code}, SignedOn: d}
	}
	members := []*bilatv1.Entity{{Code: "GE", Memberships: []*bilatv1.Membership{{Bloc: "bloc.cis", Joined: pd(1993, 12, 3), Left: pd(2009, 8, 18)}}}}
	m := domain.NewMatcher(&bilatv1.AgreementFilter{Bloc: "bloc.cis"}, members)
	for _, tc := range []struct {
		d    *bilatv1.PartialDate
		want bool
	}{
		{pd(2009, 8, 17), true}, {pd(2009, 8, 18), false}, {pd(2009, 8, 0), true}, {pd(2009, 0, 0), true},
		{pd(2010, 0, 0), false}, {pd(1993, 0, 0), true}, {pd(1993, 11, 0), false}, {nil, false},
	} {
		if got := m.Match(ag("GE", tc.d), domain.Parents{}); got != tc.want {
			t.Errorf("CIS member on %v = %v, want %v", tc.d, got, tc.want)
		}
	}
	if !m.Match(ag("bloc.cis", nil), domain.Parents{}) {
		t.Error("the bloc itself, undated, should match")
	}
	r := domain.NewMatcher(&bilatv1.AgreementFilter{SignedFrom: pd(2017, 6, 0), SignedTo: pd(2017, 6, 30)}, nil)
	for _, tc := range []struct {
		d    *bilatv1.PartialDate
		want bool
	}{{pd(2017, 0, 0), true}, {pd(2017, 6, 0), true}, {pd(2017, 6, 30), true}, {pd(2017, 7, 1), false}, {pd(2017, 5, 31), false}, {nil, false}} {
		if got := r.Match(ag("GE", tc.d), domain.Parents{}); got != tc.want {
			t.Errorf("June 2017 range, date %v = %v, want %v", tc.d, got, tc.want)
		}
	}
}

func TestRelevance(t *testing.T) {
	m := domain.NewMatcher(&bilatv1.AgreementFilter{Query: "trade эконом"}, nil)
	for title, want := range map[string]int{
		"Trade and экономическое cooperation": 3,
		"Trade экономика":                     3,
		"Trademark экономика":                 2,
		"Trade only":                          0,
	} {
		if got := m.Relevance(&bilatv1.Agreement{Title: title}); got != want {
			t.Errorf("Relevance(%q) = %d, want %d", title, got, want)
		}
	}
}
