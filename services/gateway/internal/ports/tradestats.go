package ports

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Statistics is the StatisticsService the trade statistics RPCs forward to.
type Statistics interface {
	TradeBalance(ctx context.Context, req *bilatv1.ComputeTradeBalanceRequest) (*bilatv1.ComputeTradeBalanceResponse, error)
	TradeGrowth(ctx context.Context, req *bilatv1.ComputeTradeGrowthRequest) (*bilatv1.ComputeTradeGrowthResponse, error)
	TargetProgress(ctx context.Context, req *bilatv1.ComputeTargetProgressRequest) (*bilatv1.ComputeTargetProgressResponse, error)
	Ranking(ctx context.Context, req *bilatv1.ComputePartnerRankingRequest) (*bilatv1.ComputePartnerRankingResponse, error)
	Conflicts(ctx context.Context, req *bilatv1.ListTradeConflictsRequest) (*bilatv1.ListTradeConflictsResponse, error)
}

// WithStatistics makes the trade statistics RPCs answer through st.
func (s *TradeServer) WithStatistics(st Statistics) *TradeServer {
	s.stats = st
	return s
}

// convert copies a message into one with the same fields (the gateway's
// requests and responses are wire-identical to StatisticsService's).
func convert[T proto.Message](src proto.Message, dst T) (T, error) {
	b, err := proto.Marshal(src)
	if err != nil {
		return dst, fmt.Errorf("encode %s: %w", src.ProtoReflect().Descriptor().FullName(), err)
	}
	if err := proto.Unmarshal(b, dst); err != nil {
		return dst, fmt.Errorf("decode %s: %w", dst.ProtoReflect().Descriptor().FullName(), err)
	}
	return dst, nil
}

// forward calls StatisticsService: its InvalidArgument and NotFound (with
// their details) reach the caller unchanged, anything else is Unavailable.
func forward[Req, Resp, SReq, SResp proto.Message](ctx context.Context, s *TradeServer, op string, req Req, sreq SReq, resp Resp,
	call func(context.Context, SReq) (SResp, error)) (Resp, error) {
	var zero Resp
	in, err := convert(req, sreq)
	if err != nil {
		return zero, status.Error(codes.Internal, err.Error())
	}
	out, err := call(ctx, in)
	if err != nil {
		switch st := status.Convert(err); st.Code() {
		case codes.InvalidArgument, codes.NotFound, codes.Canceled, codes.DeadlineExceeded:
			return zero, err
		default:
			s.log.ErrorContext(ctx, op, "err", err)
			return zero, status.Error(codes.Unavailable, "statistics unavailable, retry later")
		}
	}
	r, err := convert(out, resp)
	if err != nil {
		return zero, status.Error(codes.Internal, err.Error())
	}
	return r, nil
}

// GetTradeBalance gives the best turnover, exports, imports and balance per period.
func (s *TradeServer) GetTradeBalance(ctx context.Context, req *bilatv1.GetTradeBalanceRequest) (*bilatv1.GetTradeBalanceResponse, error) {
	if s.stats == nil {
		return nil, errNoStats
	}
	return forward(ctx, s, "GetTradeBalance", req, &bilatv1.ComputeTradeBalanceRequest{}, &bilatv1.GetTradeBalanceResponse{}, s.stats.TradeBalance)
}

// GetTradeGrowth gives year-on-year growth and CAGR.
func (s *TradeServer) GetTradeGrowth(ctx context.Context, req *bilatv1.GetTradeGrowthRequest) (*bilatv1.GetTradeGrowthResponse, error) {
	if s.stats == nil {
		return nil, errNoStats
	}
	return forward(ctx, s, "GetTradeGrowth", req, &bilatv1.ComputeTradeGrowthRequest{}, &bilatv1.GetTradeGrowthResponse{}, s.stats.TradeGrowth)
}

// GetTargetProgress gives the progress toward a partner's targets.
func (s *TradeServer) GetTargetProgress(ctx context.Context, req *bilatv1.GetTargetProgressRequest) (*bilatv1.GetTargetProgressResponse, error) {
	if s.stats == nil {
		return nil, errNoStats
	}
	return forward(ctx, s, "GetTargetProgress", req, &bilatv1.ComputeTargetProgressRequest{}, &bilatv1.GetTargetProgressResponse{}, s.stats.TargetProgress)
}

// RankPartners ranks partners for a year.
func (s *TradeServer) RankPartners(ctx context.Context, req *bilatv1.RankPartnersRequest) (*bilatv1.RankPartnersResponse, error) {
	if s.stats == nil {
		return nil, errNoStats
	}
	return forward(ctx, s, "RankPartners", req, &bilatv1.ComputePartnerRankingRequest{}, &bilatv1.RankPartnersResponse{}, s.stats.Ranking)
}

// GetTradeConflicts lists points whose sources disagree.
func (s *TradeServer) GetTradeConflicts(ctx context.Context, req *bilatv1.GetTradeConflictsRequest) (*bilatv1.GetTradeConflictsResponse, error) {
	if s.stats == nil {
		return nil, errNoStats
	}
	return forward(ctx, s, "GetTradeConflicts", req, &bilatv1.ListTradeConflictsRequest{}, &bilatv1.GetTradeConflictsResponse{}, s.stats.Conflicts)
}

// errNoStats answers the statistics RPCs of a gateway started without a
// statistics address (tests of the read API alone).
var errNoStats = status.Error(codes.Unavailable, "statistics service not configured")
