// Package adapters holds the gateway's clients of StatisticsService and
// GazetteerService.
package adapters

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"bilat.dev/pkg/grpcx"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// Statistics calls StatisticsService over gRPC. The service is reached by
// address only: services never import each other.
type Statistics struct {
	conn   *grpc.ClientConn
	client bilatv1.StatisticsServiceClient
}

// DialStatistics returns a client of the statistics service at addr; the
// connection is made lazily, so the gateway starts whatever order services
// come up in. grpcx.Dial forwards each caller's authorization, so statistics
// checks the scopes of whoever asked the gateway.
func DialStatistics(addr string, opts grpcx.ClientOptions) (*Statistics, error) {
	conn, err := grpcx.Dial(addr, opts)
	if err != nil {
		return nil, fmt.Errorf("statistics client %s: %w", addr, err)
	}
	return &Statistics{conn: conn, client: bilatv1.NewStatisticsServiceClient(conn)}, nil
}

// Close closes the connection.
func (s *Statistics) Close() error { return s.conn.Close() }

// TradeBalance calls ComputeTradeBalance.
func (s *Statistics) TradeBalance(ctx context.Context, req *bilatv1.ComputeTradeBalanceRequest) (*bilatv1.ComputeTradeBalanceResponse, error) {
	return s.client.ComputeTradeBalance(ctx, req)
}

// TradeGrowth calls ComputeTradeGrowth.
func (s *Statistics) TradeGrowth(ctx context.Context, req *bilatv1.ComputeTradeGrowthRequest) (*bilatv1.ComputeTradeGrowthResponse, error) {
	return s.client.ComputeTradeGrowth(ctx, req)
}

// TargetProgress calls ComputeTargetProgress.
func (s *Statistics) TargetProgress(ctx context.Context, req *bilatv1.ComputeTargetProgressRequest) (*bilatv1.ComputeTargetProgressResponse, error) {
	return s.client.ComputeTargetProgress(ctx, req)
}

// Ranking calls ComputePartnerRanking.
func (s *Statistics) Ranking(ctx context.Context, req *bilatv1.ComputePartnerRankingRequest) (*bilatv1.ComputePartnerRankingResponse, error) {
	return s.client.ComputePartnerRanking(ctx, req)
}

// Conflicts calls ListTradeConflicts.
func (s *Statistics) Conflicts(ctx context.Context, req *bilatv1.ListTradeConflictsRequest) (*bilatv1.ListTradeConflictsResponse, error) {
	return s.client.ListTradeConflicts(ctx, req)
}
