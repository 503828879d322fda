// Package testsrv is an in-memory stand-in for the ingest and gateway gRPC
// APIs, for the bilat tool's own tests (the real services are tested
// end to end by the lead). Only test code imports it.
package testsrv

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Server implements IngestService, AgreementService, TradeService and
// grpc.health.v1 in memory.
type Server struct {
	bilatv1.UnimplementedIngestServiceServer
	bilatv1.UnimplementedAgreementServiceServer
	bilatv1.UnimplementedTradeServiceServer
	bilatv1.UnimplementedPartnerServiceServer

	// Validate rejects an item by returning a rejection (its Index is
	// filled in); nil accepts everything.
	Validate func(*bilatv1.ImportRequest) *bilatv1.Rejection
	// SubmitErr, when set, is what the Submit calls return.
	SubmitErr error
	// Series is what GetTradeSeries returns.
	Series *bilatv1.GetTradeSeriesResponse
	// OnAgreement is called for every newly recorded agreement.
	OnAgreement func(*bilatv1.Agreement)
	// Total, when set, overrides ListAgreements' total_size.
	Total func() int64

	// Entities are what SearchPartners searches (case-insensitive
	// substring of the code, name or an alias) and GetPartnerProfile
	// answers for (Profile, with the entity filled in).
	Entities []*bilatv1.Entity
	Profile  *bilatv1.GetPartnerProfileResponse
	// Revisions answers ListRevisions by agreement id.
	Revisions map[string][]*bilatv1.AgreementRevision
	// Changes are what WatchAgreements streams, positions "1", "2", ...;
	// DropAfter, when > 0, ends the first stream with Unavailable after
	// that many messages (a dropped connection).
	Changes   []*bilatv1.WatchAgreementsResponse
	DropAfter int
	// Compare answers CompareTrade; Alerts are what WatchTradeAlerts streams.
	Compare *bilatv1.CompareTradeResponse
	Alerts  []*bilatv1.WatchTradeAlertsResponse

	Health *health.Server

	dropped bool

	mu         sync.Mutex
	recorded   map[string]bool
	agreements []*bilatv1.Agreement
	requests   []proto.Message
}

// New returns an empty server whose health is SERVING.
func New() *Server {
	s := &Server{Health: health.NewServer(), recorded: map[string]bool{}}
	return s
}

// Register puts every service on g.
func (s *Server) Register(g *grpc.Server) {
	bilatv1.RegisterIngestServiceServer(g, s)
	bilatv1.RegisterAgreementServiceServer(g, s)
	bilatv1.RegisterTradeServiceServer(g, s)
	bilatv1.RegisterPartnerServiceServer(g, s)
	healthpb.RegisterHealthServer(g, s.Health)
}

// Listen serves on a free 127.0.0.1 port; stop with the returned function.
func (s *Server) Listen() (addr string, stop func(), err error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	g := grpc.NewServer()
	s.Register(g)
	go func() { _ = g.Serve(lis) }()
	return lis.Addr().String(), g.Stop, nil
}

// AddAgreements preloads agreements for the list and get calls.
func (s *Server) AddAgreements(as ...*bilatv1.Agreement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agreements = append(s.agreements, as...)
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []proto.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]proto.Message(nil), s.requests...)
}

func (s *Server) note(m proto.Message) {
	s.mu.Lock()
	s.requests = append(s.requests, proto.Clone(m))
	s.mu.Unlock()
}

// record stores an item under its idempotency key (or id); it reports
// whether the item was seen before.
func (s *Server) record(key string, a *bilatv1.Agreement) (duplicate bool) {
	s.mu.Lock()
	if s.recorded[key] {
		s.mu.Unlock()
		return true
	}
	s.recorded[key] = true
	if a != nil {
		s.agreements = append(s.agreements, a)
	}
	on := s.OnAgreement
	s.mu.Unlock()
	if a != nil && on != nil {
		on(a)
	}
	return false
}

func itemKey(req *bilatv1.ImportRequest) string {
	if k := req.GetIdempotencyKey(); k != "" {
		return k
	}
	if a := req.GetAgreement(); a != nil {
		return "a:" + a.GetId() + a.GetTitle()
	}
	return "t:" + req.GetTradeFigure().GetId()
}

func (s *Server) SubmitAgreement(_ context.Context, req *bilatv1.SubmitAgreementRequest) (*bilatv1.SubmitAgreementResponse, error) {
	s.note(req)
	if s.SubmitErr != nil {
		return nil, s.SubmitErr
	}
	ir := &bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_Agreement{Agreement: req.GetAgreement()}, IdempotencyKey: req.GetIdempotencyKey()}
	key := itemKey(ir)
	dup := s.record(key, req.GetAgreement())
	return &bilatv1.SubmitAgreementResponse{Result: &bilatv1.SubmitResult{EventId: "ev-" + key, RecordId: req.GetAgreement().GetId(), Duplicate: dup}}, nil
}

func (s *Server) SubmitTradeFigure(_ context.Context, req *bilatv1.SubmitTradeFigureRequest) (*bilatv1.SubmitTradeFigureResponse, error) {
	s.note(req)
	if s.SubmitErr != nil {
		return nil, s.SubmitErr
	}
	ir := &bilatv1.ImportRequest{Item: &bilatv1.ImportRequest_TradeFigure{TradeFigure: req.GetFigure()}, IdempotencyKey: req.GetIdempotencyKey()}
	key := itemKey(ir)
	dup := s.record(key, nil)
	return &bilatv1.SubmitTradeFigureResponse{Result: &bilatv1.SubmitResult{EventId: "ev-" + key, RecordId: req.GetFigure().GetId(), Duplicate: dup}}, nil
}

func (s *Server) Import(stream grpc.ClientStreamingServer[bilatv1.ImportRequest, bilatv1.ImportResponse]) error {
	resp := &bilatv1.ImportResponse{}
	for i := int64(0); ; i++ {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(resp)
		}
		if err != nil {
			return err
		}
		s.note(req)
		if s.Validate != nil {
			if rj := s.Validate(req); rj != nil {
				rj.Index = i
				resp.Rejected++
				resp.Rejections = append(resp.Rejections, rj)
				continue
			}
		}
		if s.record(itemKey(req), req.GetAgreement()) {
			resp.Duplicates++
		} else {
			resp.Accepted++
		}
	}
}

func (s *Server) GetAgreement(_ context.Context, req *bilatv1.GetAgreementRequest) (*bilatv1.GetAgreementResponse, error) {
	s.note(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.agreements {
		if a.GetId() == req.GetId() {
			return &bilatv1.GetAgreementResponse{Agreement: a}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "agreement %q not found", req.GetId())
}

// ListAgreements filters by partner code only; the page token is the offset.
func (s *Server) ListAgreements(_ context.Context, req *bilatv1.ListAgreementsRequest) (*bilatv1.ListAgreementsResponse, error) {
	s.note(req)
	s.mu.Lock()
	var match []*bilatv1.Agreement
	for _, a := range s.agreements {
		if p := req.GetFilter().GetPartner(); p == "" || a.GetPartner().GetCode() == p {
			match = append(match, a)
		}
	}
	s.mu.Unlock()
	size := int(req.GetPageSize())
	if size == 0 {
		size = 50
	}
	off := 0
	if t := req.GetPageToken(); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(match) {
			return nil, status.Error(codes.InvalidArgument, "bad page token")
		}
		off = n
	}
	end := min(off+size, len(match))
	resp := &bilatv1.ListAgreementsResponse{Agreements: match[off:end], TotalSize: int64(len(match))}
	if end < len(match) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	if s.Total != nil {
		resp.TotalSize = s.Total()
	}
	return resp, nil
}

func (s *Server) GetTradeSeries(_ context.Context, req *bilatv1.GetTradeSeriesRequest) (*bilatv1.GetTradeSeriesResponse, error) {
	s.note(req)
	if s.Series == nil {
		return &bilatv1.GetTradeSeriesResponse{Partner: req.GetPartner()}, nil
	}
	return s.Series, nil
}

func (s *Server) SearchPartners(_ context.Context, req *bilatv1.SearchPartnersRequest) (*bilatv1.SearchPartnersResponse, error) {
	s.note(req)
	q := strings.ToLower(strings.TrimSpace(req.GetQuery()))
	resp := &bilatv1.SearchPartnersResponse{}
	for _, e := range s.Entities {
		if req.GetKind() != 0 && e.GetKind() != req.GetKind() {
			continue
		}
		for _, name := range append([]string{e.GetCode(), e.GetName()}, e.GetAliases()...) {
			if q != "" && (strings.Contains(strings.ToLower(name), q) || fuzzy(strings.ToLower(name), q)) {
				resp.Hits = append(resp.Hits, &bilatv1.SearchHit{Entity: e, MatchedAlias: name, Score: 0.8})
				break
			}
		}
	}
	return resp, nil
}

// fuzzy accepts one dropped letter ("gorgia" for "georgia").
func fuzzy(name, q string) bool {
	if len(name) != len(q)+1 {
		return false
	}
	for i := range name {
		if name[:i]+name[i+1:] == q {
			return true
		}
	}
	return false
}

func (s *Server) GetPartnerProfile(_ context.Context, req *bilatv1.GetPartnerProfileRequest) (*bilatv1.GetPartnerProfileResponse, error) {
	s.note(req)
	for _, e := range s.Entities {
		if e.GetCode() == req.GetPartner() {
			p := &bilatv1.GetPartnerProfileResponse{}
			if s.Profile != nil {
				p = proto.CloneOf(s.Profile)
			}
			p.Entity = e
			return p, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "partner %q not found", req.GetPartner())
}

func (s *Server) ListRevisions(_ context.Context, req *bilatv1.ListRevisionsRequest) (*bilatv1.ListRevisionsResponse, error) {
	s.note(req)
	revs, ok := s.Revisions[req.GetId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "agreement %q not found", req.GetId())
	}
	return &bilatv1.ListRevisionsResponse{Id: req.GetId(), Revisions: revs}, nil
}

// WatchAgreements streams Changes after the requested position, then
// waits for the client to go away.
func (s *Server) WatchAgreements(req *bilatv1.WatchAgreementsRequest, stream grpc.ServerStreamingServer[bilatv1.WatchAgreementsResponse]) error {
	s.note(req)
	start := 0
	if p := req.GetAfterPosition(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return status.Error(codes.InvalidArgument, "bad position")
		}
		start = n
	}
	for i := start; i < len(s.Changes); i++ {
		s.mu.Lock()
		drop := s.DropAfter > 0 && !s.dropped && i-start == s.DropAfter
		if drop {
			s.dropped = true
		}
		s.mu.Unlock()
		if drop {
			return status.Error(codes.Unavailable, "connection dropped")
		}
		c := proto.CloneOf(s.Changes[i])
		c.Position = strconv.Itoa(i + 1)
		if err := stream.Send(c); err != nil {
			return err
		}
	}
	<-stream.Context().Done()
	return nil
}

func (s *Server) CompareTrade(_ context.Context, req *bilatv1.CompareTradeRequest) (*bilatv1.CompareTradeResponse, error) {
	s.note(req)
	if len(req.GetPartners()) < 2 {
		return nil, status.Error(codes.InvalidArgument, "at least two partners")
	}
	if s.Compare == nil {
		return &bilatv1.CompareTradeResponse{}, nil
	}
	return s.Compare, nil
}

// WatchTradeAlerts streams Alerts after the requested position, then waits.
func (s *Server) WatchTradeAlerts(req *bilatv1.WatchTradeAlertsRequest, stream grpc.ServerStreamingServer[bilatv1.WatchTradeAlertsResponse]) error {
	s.note(req)
	start := 0
	if p := req.GetAfterPosition(); p != "" {
		start, _ = strconv.Atoi(p)
	}
	for i := start; i < len(s.Alerts); i++ {
		a := proto.CloneOf(s.Alerts[i])
		a.Position = strconv.Itoa(i + 1)
		if err := stream.Send(a); err != nil {
			return err
		}
	}
	<-stream.Context().Done()
	return nil
}
