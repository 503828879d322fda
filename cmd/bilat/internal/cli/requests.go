package cli

import (
	"errors"
	"fmt"
	"strings"

	"bilat.dev/cmd/bilat/internal/format"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// MaxPageSize is the largest page ListAgreements serves.
const MaxPageSize = 500

// listFlags are the flags of `bilat agreements list`.
type listFlags struct {
	partner   string
	domain    string
	from, to  int
	limit     int
	pageToken string
	all       bool
}

// request maps the flags to a ListAgreementsRequest, checking them first
// so mistakes are reported here rather than as a server error.
func (f listFlags) request() (*bilatv1.ListAgreementsRequest, error) {
	req := &bilatv1.ListAgreementsRequest{
		Partner:   strings.TrimSpace(f.partner),
		PageToken: f.pageToken,
	}
	if f.domain != "" {
		d, err := format.ParseDomain(f.domain)
		if err != nil {
			return nil, fmt.Errorf("--domain: %w", err)
		}
		req.Domain = d
	}
	from, to, err := yearRange(f.from, f.to)
	if err != nil {
		return nil, err
	}
	req.FromYear, req.ToYear = from, to
	if f.limit < 0 || f.limit > MaxPageSize {
		return nil, fmt.Errorf("--limit must be 1..%d (0 for the server default), not %d", MaxPageSize, f.limit)
	}
	req.PageSize = int32(f.limit)
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
