package projection

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	bilatv1 "bilat.dev/proto/bilat/v1"
)

// AgreementScan names the candidates of a filtered listing: the smallest
// index that holds every agreement the caller may want (the caller applies
// its remaining predicates to the decoded agreements).
type AgreementScan struct {
	// Partner reads that partner's slot; "" reads the global indexes.
	Partner string
	// Domain reads the per-domain index; DOMAIN_UNSPECIFIED every domain.
	Domain bilatv1.Domain
	// MinScore, MaxScore bound DateScore (inclusive); both 0 reads every
	// agreement, undated ones included.
	MinScore, MaxScore int64
}

// scanBatchSize is how many documents one pipelined round trip reads.
const scanBatchSize = 500

// ScanAgreements returns the current version of every agreement in the
// index q names, within its score range, in no particular order. Reads are
// pipelined a batch at a time (a global index costs two round trips per
// batch: locations, then documents).
func (s *Store) ScanAgreements(ctx context.Context, q AgreementScan) ([]*bilatv1.Agreement, error) {
	if q.Partner != "" && !validCode(q.Partner) {
		return nil, nil
	}
	key := s.agreementIndex(AgreementFilter{Partner: q.Partner, Domain: q.Domain})
	lo, hi := "-inf", "+inf"
	if q.MinScore != 0 || q.MaxScore != 0 {
		lo, hi = strconv.FormatInt(q.MinScore, 10), strconv.FormatInt(q.MaxScore, 10)
	}
	ids, err := s.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: key, Start: lo, Stop: hi, ByScore: true}).Result()
	if err != nil {
		return nil, fmt.Errorf("scan agreements %s: %w", key, err)
	}
	out := make([]*bilatv1.Agreement, 0, len(ids))
	for start := 0; start < len(ids); start += scanBatchSize {
		batch := ids[start:min(start+scanBatchSize, len(ids))]
		wire, err := s.agreementsByID(ctx, q.Partner, batch)
		if err != nil {
			return nil, fmt.Errorf("scan agreements %s: %w", key, err)
		}
		for _, b := range wire {
			a, err := DecodeAgreement(b)
			if err != nil {
				return nil, fmt.Errorf("scan agreements %s: %w", key, err)
			}
			out = append(out, a)
		}
	}
	return out, nil
}
