package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"bilat.dev/pkg/projection"
	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

// ErrNoGazetteer means a bloc filter was asked for but the gateway has no
// GazetteerService connection to learn the bloc's members from.
var ErrNoGazetteer = errors.New("gazetteer not configured: bloc filters are unavailable")

// AgreementReader is the part of the read model AgreementService's list,
// history and watch use (pkg/projection's Store).
type AgreementReader interface {
	ListAgreements(ctx context.Context, f projection.AgreementFilter, pageSize int, token string) (*projection.AgreementPage, error)
	ScanAgreements(ctx context.Context, q projection.AgreementScan) ([]*bilatv1.Agreement, error)
	AgreementRevisions(ctx context.Context, id string) ([]projection.Revision, error)
}

// Agreements answers ListAgreements, ListRevisions and (with Watch) the
// agreement watch, over the projections and, for bloc filters, the
// gazetteer.
type Agreements struct {
	r   AgreementReader
	gaz bilatv1.GazetteerServiceClient
}

// NewAgreements returns the use cases over r; gaz (enrichment's
// GazetteerService; may be nil, then bloc filters answer Unavailable)
// gives blocs' members and their dated memberships.
func NewAgreements(r AgreementReader, gaz bilatv1.GazetteerServiceClient) *Agreements {
	return &Agreements{r: r, gaz: gaz}
}

// matcher validates nothing: it compiles a validated filter, asking the
// gazetteer for the bloc's members when the filter has a bloc.
func (s *Agreements) matcher(ctx context.Context, field string, f *bilatv1.AgreementFilter) (*domain.Matcher, error) {
	if f.GetBloc() == "" {
		return domain.NewMatcher(f, nil), nil
	}
	if s.gaz == nil {
		return nil, ErrNoGazetteer
	}
	resp, err := s.gaz.GetEntity(ctx, &bilatv1.GetEntityRequest{Code: f.GetBloc()})
	if status.Code(err) == codes.NotFound {
		return nil, &ValidationError{[]domain.Violation{{Field: field + ".bloc", Description: fmt.Sprintf("no entity %q in the gazetteer", f.GetBloc())}}}
	}
	if err != nil {
		return nil, fmt.Errorf("bloc %q members: %w", f.GetBloc(), err)
	}
	if k := resp.GetEntity().GetKind(); k != bilatv1.EntityKind_ENTITY_KIND_BLOC {
		return nil, &ValidationError{[]domain.Violation{{Field: field + ".bloc", Description: fmt.Sprintf("%q is a %s, not a bloc", f.GetBloc(), k)}}}
	}
	return domain.NewMatcher(f, resp.GetMembers()), nil
}

// listToken is the opaque page token: the position of the last agreement
// returned (its sort key and id), a digest of the filter and order it was
// issued for, and a check over both so an edited token is refused.
type listToken struct {
	V int            `json:"v"`
	F string         `json:"f"`
	K domain.SortKey `json:"k"`
	I string         `json:"i"`
	C string         `json:"c"`
}

const listTokenVersion = 2

func filterDigest(f *bilatv1.AgreementFilter, order bilatv1.AgreementOrder) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(f) // a filter always marshals
	h := sha256.New()
	h.Write(b)
	h.Write([]byte("|" + strconv.Itoa(int(order))))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func (t listToken) check() string {
	sum := sha256.Sum256(fmt.Appendf(nil, "v%d|%s|%d|%d|%s", t.V, t.F, t.K[0], t.K[1], t.I))
	return hex.EncodeToString(sum[:8])
}

func encodeListToken(digest string, k domain.SortKey, id string) string {
	t := listToken{V: listTokenVersion, F: digest, K: k, I: id}
	t.C = t.check()
	b, _ := json.Marshal(t) // strings and ints always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeListToken(s, digest string) (listToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return listToken{}, fmt.Errorf("%w: not base64url", ErrInvalidPageToken)
	}
	var t listToken
	if err := json.Unmarshal(b, &t); err != nil || t.V != listTokenVersion || t.I == "" || t.C != t.check() {
		return listToken{}, fmt.Errorf("%w: malformed or altered", ErrInvalidPageToken)
	}
	if t.F != digest {
		return listToken{}, fmt.Errorf("%w: issued for another filter or order", ErrInvalidPageToken)
	}
	return t, nil
}

type ranked struct {
	a   *bilatv1.Agreement
	key domain.SortKey
}

// ListAgreements lists the agreements matching q.Filter in q.Order, a page
// at a time. Candidates come from the narrowest index (the partner's slot,
// a domain index, the global one, within the signing range's scores), the
// remaining predicates run on the decoded agreements, and a page starts
// strictly after the token's position, so agreements added meanwhile never
// make a page repeat one already returned.
func (s *Agreements) ListAgreements(ctx context.Context, q domain.ListAgreementsQuery, token string) (*projection.AgreementPage, error) {
	if q.Filter == nil {
		q.Filter = &bilatv1.AgreementFilter{}
	}
	if vs := domain.ValidateListAgreements(q); len(vs) > 0 {
		return nil, &ValidationError{vs}
	}
	order := q.Order
	if order == bilatv1.AgreementOrder_AGREEMENT_ORDER_UNSPECIFIED {
		order = bilatv1.AgreementOrder_AGREEMENT_ORDER_SIGNED_DESC
	}
	pageSize := int(q.PageSize)
	if pageSize == 0 {
		pageSize = projection.DefaultPageSize
	}
	if f := q.Filter; domain.IndexOnly(f, order) {
		// One index page and a count: no candidate is read beyond the page.
		page, err := s.r.ListAgreements(ctx, projection.AgreementFilter{
			Partner: f.GetPartner(), Domain: f.GetDomain(), FromYear: f.GetSignedFrom().GetYear(), ToYear: f.GetSignedTo().GetYear(),
		}, pageSize, token)
		if errors.Is(err, projection.ErrInvalidPageToken) {
			return nil, fmt.Errorf("%w: %w", ErrInvalidPageToken, err)
		}
		return page, err
	}
	digest := filterDigest(q.Filter, order)
	var cursor *listToken
	if token != "" {
		t, err := decodeListToken(token, digest)
		if err != nil {
			return nil, err
		}
		cursor = &t
	}
	m, err := s.matcher(ctx, "filter", q.Filter)
	if err != nil {
		return nil, err
	}
	f := q.Filter
	scan := projection.AgreementScan{Domain: f.GetDomain()}
	scan.MinScore, scan.MaxScore = m.ScoreRange()
	if f.GetPartner() != "" && !f.GetIncludeSubEntities() {
		scan.Partner = f.GetPartner()
	}
	cands, err := s.r.ScanAgreements(ctx, scan)
	if err != nil {
		return nil, fmt.Errorf("list agreements: %w", err)
	}
	parents := domain.Parents{}
	for _, a := range cands {
		parents.Learn(a)
	}
	var hits []ranked
	seen := make(map[string]bool, len(cands))
	for _, a := range cands {
		if seen[a.GetId()] || !m.Match(a, parents) {
			continue
		}
		seen[a.GetId()] = true
		hits = append(hits, ranked{a, domain.KeyOf(order, projection.DateScore(a.GetSignedOn()), m.Relevance(a))})
	}
	slices.SortFunc(hits, func(x, y ranked) int { return domain.ComparePositions(order, x.key, x.a.GetId(), y.key, y.a.GetId()) })
	page := &projection.AgreementPage{TotalSize: int64(len(hits))}
	start := 0
	if cursor != nil {
		start, _ = slices.BinarySearchFunc(hits, cursor, func(h ranked, c *listToken) int {
			if domain.ComparePositions(order, h.key, h.a.GetId(), c.K, c.I) <= 0 {
				return -1
			}
			return 1
		})
	}
	end := min(start+pageSize, len(hits))
	for _, h := range hits[start:end] {
		b, err := projection.EncodeAgreement(h.a)
		if err != nil {
			return nil, fmt.Errorf("list agreements: %w", err)
		}
		page.Wire = append(page.Wire, b)
	}
	if end < len(hits) {
		last := hits[end-1]
		page.NextPageToken = encodeListToken(digest, last.key, last.a.GetId())
	}
	return page, nil
}

// ListRevisions returns every recorded version of an agreement, oldest
// first, with its retractions.
func (s *Agreements) ListRevisions(ctx context.Context, id string) ([]*bilatv1.AgreementRevision, error) {
	if vs := domain.ValidateGet(id); len(vs) > 0 {
		return nil, &ValidationError{vs}
	}
	revs, err := s.r.AgreementRevisions(ctx, id)
	if errors.Is(err, projection.ErrNotFound) {
		return nil, fmt.Errorf("agreement %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("revisions of %q: %w", id, err)
	}
	out := make([]*bilatv1.AgreementRevision, len(revs))
	for i, r := range revs {
		out[i] = r.AgreementRevision
	}
	return out, nil
}
