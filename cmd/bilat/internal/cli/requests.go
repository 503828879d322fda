package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/reflect/protoreflect"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// MaxPageSize is the largest page ListAgreements serves.
const MaxPageSize = 500

// filterFlags are the AgreementFilter flags of `agreements list` and
// `agreements watch`.
type filterFlags struct {
	partner  string
	withSub  bool
	bloc     string
	domain   string
	level    string
	kind     string
	status   string
	from, to string
	place    string
	query    string
}

// listFlags are the flags of `bilat agreements list`.
type listFlags struct {
	filterFlags
	sort      string
	pageSize  int
	limit     int
	pageToken string
	all       bool
}

// register declares the filter flags with their completions.
func (f *filterFlags) register(a *app, cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.partner, "partner", "", "partner: an entity code (GE, RU-STA, bloc.cis) or a name (Georgia)")
	fl.BoolVar(&f.withSub, "with-subentities", false, "with --partner: also its regions and cities (\"Russia and all its regions\")")
	fl.StringVar(&f.bloc, "bloc", "", "agreements with a bloc or with its members at the signing date (bloc.cis, bloc.eaeu)")
	fl.StringVar(&f.domain, "domain", "", "only this domain, e.g. science_technology")
	fl.StringVar(&f.level, "level", "", "some party signs at this level, e.g. government, region")
	fl.StringVar(&f.kind, "kind", "", "only this kind, e.g. memorandum, treaty")
	fl.StringVar(&f.status, "status", "", "only this status, e.g. signed, in_force")
	fl.StringVar(&f.from, "from", "", "signed on or after this partial date: 2017, 2017-03 or 2017-03-05")
	fl.StringVar(&f.to, "to", "", "signed on or before this partial date: 2019, 2019-06 or 2019-06-30")
	fl.StringVar(&f.place, "place", "", "words of the signing place (Tbilisi)")
	fl.StringVar(&f.query, "query", "", "words that must all occur in the title, English or Russian (prefixes match)")
	enumCompletion(cmd, "domain", bilatv1.Domain(0).Descriptor())
	enumCompletion(cmd, "level", bilatv1.PartyLevel(0).Descriptor())
	enumCompletion(cmd, "kind", bilatv1.AgreementKind(0).Descriptor())
	enumCompletion(cmd, "status", bilatv1.AgreementStatus(0).Descriptor())
	_ = cmd.RegisterFlagCompletionFunc("partner", a.completePartners)
	_ = cmd.RegisterFlagCompletionFunc("bloc", a.completePartnersOfKind(bilatv1.EntityKind_ENTITY_KIND_BLOC))
}

// filter maps the flags to an AgreementFilter, checking them first so
// mistakes are reported here rather than as a server error. The partner
// is passed as written; the caller resolves names to codes.
func (f filterFlags) filter() (*bilatv1.AgreementFilter, error) {
	flt := &bilatv1.AgreementFilter{
		Partner:            strings.TrimSpace(f.partner),
		IncludeSubEntities: f.withSub,
		Bloc:               strings.TrimSpace(f.bloc),
		Place:              strings.TrimSpace(f.place),
		Query:              strings.TrimSpace(f.query),
	}
	if f.withSub && flt.Partner == "" {
		return nil, errors.New("--with-subentities needs --partner")
	}
	for _, e := range []struct {
		flag, val string
		desc      protoreflect.EnumDescriptor
		set       func(protoreflect.EnumNumber)
	}{
		{"--domain", f.domain, bilatv1.Domain(0).Descriptor(), func(n protoreflect.EnumNumber) { flt.Domain = bilatv1.Domain(n) }},
		{"--level", f.level, bilatv1.PartyLevel(0).Descriptor(), func(n protoreflect.EnumNumber) { flt.Level = bilatv1.PartyLevel(n) }},
		{"--kind", f.kind, bilatv1.AgreementKind(0).Descriptor(), func(n protoreflect.EnumNumber) { flt.Kind = bilatv1.AgreementKind(n) }},
		{"--status", f.status, bilatv1.AgreementStatus(0).Descriptor(), func(n protoreflect.EnumNumber) { flt.Status = bilatv1.AgreementStatus(n) }},
	} {
		if e.val == "" {
			continue
		}
		n, err := format.ParseEnum(e.desc, e.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.flag, err)
		}
		e.set(n)
	}
	var err error
	if flt.SignedFrom, err = parsePartialDate("--from", f.from); err != nil {
		return nil, err
	}
	if flt.SignedTo, err = parsePartialDate("--to", f.to); err != nil {
		return nil, err
	}
	if flt.SignedFrom != nil && flt.SignedTo != nil && dateKey(flt.SignedFrom, 0) > dateKey(flt.SignedTo, 99) {
		return nil, fmt.Errorf("--from %s is after --to %s", f.from, f.to)
	}
	return flt, nil
}

// dateKey orders partial dates; fill stands for missing month and day
// (0 for the start of a range, 99 for its end).
func dateKey(d *bilatv1.PartialDate, fill int32) int64 {
	m, day := d.GetMonth(), d.GetDay()
	if m == 0 {
		m = fill
	}
	if day == 0 {
		day = fill
	}
	return int64(d.GetYear())*10000 + int64(m)*100 + int64(day)
}

// parsePartialDate reads "2017", "2017-03" or "2017-03-05"; "" is no date.
func parsePartialDate(flag, s string) (*bilatv1.PartialDate, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, "-")
	bad := fmt.Errorf("%s %q: want a year, year-month or year-month-day (2017, 2017-03, 2017-03-05)", flag, s)
	if len(parts) > 3 {
		return nil, bad
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || (i == 0 && len(p) != 4) || (i > 0 && len(p) != 2) {
			return nil, bad
		}
		nums[i] = n
	}
	d := &bilatv1.PartialDate{Year: int32(nums[0])}
	if d.Year < 1 {
		return nil, bad
	}
	if len(nums) > 1 {
		if nums[1] < 1 || nums[1] > 12 {
			return nil, fmt.Errorf("%s %q: month must be 01..12", flag, s)
		}
		d.Month = int32(nums[1])
	}
	if len(nums) > 2 {
		t := time.Date(nums[0], time.Month(nums[1]), nums[2], 0, 0, 0, 0, time.UTC)
		if nums[2] < 1 || t.Day() != nums[2] {
			return nil, fmt.Errorf("%s %q: no such day", flag, s)
		}
		d.Day = int32(nums[2])
	}
	return d, nil
}

// Sort orders of `agreements list --sort`.
var sortOrders = map[string]bilatv1.AgreementOrder{
	"date":      bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_DESC,
	"oldest":    bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_ASC,
	"relevance": bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE,
}

// request maps the flags to a ListAgreementsRequest.
func (f listFlags) request() (*bilatv1.ListAgreementsRequest, error) {
	flt, err := f.filter()
	if err != nil {
		return nil, err
	}
	req := &bilatv1.ListAgreementsRequest{Filter: flt, PageToken: f.pageToken}
	if f.sort != "" {
		o, ok := sortOrders[f.sort]
		if !ok {
			return nil, fmt.Errorf("--sort must be date, oldest or relevance, not %q", f.sort)
		}
		if o == bilatv1.AgreementOrder_AGREEMENT_ORDER_RELEVANCE && flt.GetQuery() == "" {
			return nil, errors.New("--sort relevance needs --query words")
		}
		req.OrderBy = o
	}
	if f.pageSize < 0 || f.pageSize > MaxPageSize {
		return nil, fmt.Errorf("--page-size must be 1..%d (0 for the server default, 50), not %d", MaxPageSize, f.pageSize)
	}
	if f.limit < 0 {
		return nil, fmt.Errorf("--limit must not be negative, not %d", f.limit)
	}
	req.PageSize = int32(f.pageSize)
	if f.limit > 0 && (req.PageSize == 0 || int(req.PageSize) > f.limit) {
		// Ask for no more than will be shown.
		req.PageSize = int32(min(f.limit, MaxPageSize))
	}
	return req, nil
}

// seriesFlags are the flags of `bilat trade series`.
type seriesFlags struct {
	reporter string
	flow     string
	from, to int
}

// request maps the partner argument and flags to a GetTradeSeriesRequest.
func (f seriesFlags) request(partner string) (*bilatv1.GetTradeSeriesRequest, error) {
	partner = strings.TrimSpace(partner)
	if partner == "" {
		return nil, errors.New("PARTNER must not be empty (an entity code such as AF, GE or RU-STA)")
	}
	req := &bilatv1.GetTradeSeriesRequest{Partner: partner, Reporter: strings.TrimSpace(f.reporter)}
	if f.flow != "" {
		fl, err := format.ParseFlow(f.flow)
		if err != nil {
			return nil, fmt.Errorf("--flow: %w", err)
		}
		req.Flow = fl
	}
	from, to, err := yearRange(f.from, f.to)
	if err != nil {
		return nil, err
	}
	req.FromYear, req.ToYear = from, to
	return req, nil
}

// yearRange checks --from/--to: 0 leaves an end open.
func yearRange(from, to int) (int32, int32, error) {
	for _, y := range []struct {
		flag string
		v    int
	}{{"--from", from}, {"--to", to}} {
		if y.v != 0 && (y.v < 1 || y.v > 9999) {
			return 0, 0, fmt.Errorf("%s must be a year (1..9999), not %d", y.flag, y.v)
		}
	}
	if from != 0 && to != 0 && from > to {
		return 0, 0, fmt.Errorf("--from %d is after --to %d", from, to)
	}
	return int32(from), int32(to), nil
}
