package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/gateway/internal/domain"
)

// Gazetteer is enrichment's GazetteerService as the gateway uses it. An
// unknown code gives an error matching ErrNotFound.
type Gazetteer interface {
	GetEntity(ctx context.Context, code string) (*bilatv1.GetEntityResponse, error)
	SearchEntities(ctx context.Context, req *bilatv1.SearchEntitiesRequest) (*bilatv1.SearchEntitiesResponse, error)
}

// TradeStats is the part of StatisticsService that CompareTrade,
// WatchTradeAlerts and GetPartnerProfile ask (adapters.Statistics).
type TradeStats interface {
	TradeBalance(ctx context.Context, req *bilatv1.ComputeTradeBalanceRequest) (*bilatv1.ComputeTradeBalanceResponse, error)
	TradeGrowth(ctx context.Context, req *bilatv1.ComputeTradeGrowthRequest) (*bilatv1.ComputeTradeGrowthResponse, error)
}

// noFigures reports a StatisticsService NotFound: the partner has no trade
// figures (yet). A comparison, a profile or an alert treats that as an
// empty series, not as a failure: the partner itself was checked against
// the gazetteer.
func noFigures(err error) bool { return status.Code(err) == codes.NotFound }

// fanOutLimit bounds the downstream calls one request makes at once, so a
// 20-partner comparison does not open 60 streams on the statistics
// connection at the same instant.
const fanOutLimit = 8

// fanOut runs fn(ctx, i) for i in [0, n) with at most limit running at once,
// errgroup-style: the first error cancels the others' context and is
// returned. The caller's deadline reaches every call through ctx.
func fanOut(ctx context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, limit)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// notFoundError is an ErrNotFound whose message is meant for the caller as
// it stands (it names the code and the closest matches).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

// unknownPartner builds the NotFound for a code the gazetteer does not
// know, with its closest matches: no partner "Gorgia"; did you mean Georgia (GE)?
func unknownPartner(ctx context.Context, g Gazetteer, code string) error {
	msg := fmt.Sprintf("no partner %q", code)
	resp, err := g.SearchEntities(ctx, &bilatv1.SearchEntitiesRequest{Query: code, Limit: 3})
	if err != nil || len(resp.GetHits()) == 0 {
		// The suggestions are a courtesy: without them the answer is still NotFound.
		return &notFoundError{msg}
	}
	names := make([]string, 0, len(resp.GetHits()))
	for _, h := range resp.GetHits() {
		names = append(names, fmt.Sprintf("%s (%s)", h.GetEntity().GetName(), h.GetEntity().GetCode()))
	}
	return &notFoundError{msg + "; did you mean " + strings.Join(names, " or ") + "?"}
}

// lookUpPartners looks every code up in the gazetteer at once; unknown codes
// give one NotFound naming all of them in request order.
func lookUpPartners(ctx context.Context, g Gazetteer, codes []string) ([]*bilatv1.GetEntityResponse, error) {
	out := make([]*bilatv1.GetEntityResponse, len(codes))
	missing := make([]bool, len(codes))
	err := fanOut(ctx, fanOutLimit, len(codes), func(ctx context.Context, i int) error {
		e, err := g.GetEntity(ctx, codes[i])
		if errors.Is(err, ErrNotFound) {
			missing[i] = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("gazetteer entity %q: %w", codes[i], err)
		}
		out[i] = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	var msgs []string
	for i, m := range missing {
		if m {
			msgs = append(msgs, unknownPartner(ctx, g, codes[i]).Error())
		}
	}
	if len(msgs) > 0 {
		return nil, &notFoundError{strings.Join(msgs, "; ")}
	}
	return out, nil
}

// violationsErr wraps violations as the error the ports turn into InvalidArgument.
func violationsErr(vs []domain.Violation) error {
	if len(vs) == 0 {
		return nil
	}
	return &ValidationError{vs}
}
