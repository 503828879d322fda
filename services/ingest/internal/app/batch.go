package app

import (
	"context"
	"fmt"
	"sync"
)

// SubmitBatch records several submissions with the guarantees of
// SubmitAgreement and SubmitTradeFigure, as if they were submitted one
// after another in order, and returns one result and one error per
// submission. The idempotency keys are looked up together, the new events
// are published back to back and their acknowledgements awaited together
// (in that order in the stream), and the keys are then remembered
// together: a batch costs about three waits instead of three per record.
// Of submissions sharing an idempotency key the first is recorded and the
// others are its duplicates; if it fails, they fail with it.
func (s *Service) SubmitBatch(ctx context.Context, subs []Submission) ([]Result, []error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	results := make([]Result, len(subs))
	errs := make([]error, len(subs))
	ps := make([]pending, len(subs))
	first := map[string]int{} // key hash → its first submission
	var lead []int            // first submissions of their keys, in order
	for i, sub := range subs {
		p, err := sub.prepare()
		if err != nil {
			errs[i] = err
			continue
		}
		ps[i] = p
		if _, ok := first[p.keyHash()]; !ok {
			first[p.keyHash()] = i
			lead = append(lead, i)
		}
	}

	// Keys accepted before this batch.
	found := make([]bool, len(subs))
	s.lookupAll(ctx, ps, lead, func(i int, stored string, ok bool, err error) {
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("look up idempotency key: %w", err)
		case ok:
			found[i] = true
			results[i] = Result{EventID: stored, RecordID: ps[i].recordID, Duplicate: true}
			s.logFor(ps[i]).Debug("duplicate submission", "first_event_id", stored)
		}
	})

	// The new events, in submission order.
	var evs []Event
	var at []int
	for _, i := range lead {
		if errs[i] != nil || found[i] {
			continue
		}
		ev, err := s.event(ps[i])
		if err != nil {
			errs[i] = err
			continue
		}
		evs, at = append(evs, ev), append(at, i)
	}
	dups, perrs := s.publishAll(ctx, evs)
	var published []int
	for n, i := range at {
		if perrs[n] != nil {
			errs[i] = fmt.Errorf("publish event: %w", perrs[n])
			continue
		}
		results[i] = Result{EventID: evs[n].MsgID, RecordID: ps[i].recordID, Duplicate: dups[n]}
		published = append(published, i)
	}

	// Remembered only once durable, as record does.
	s.rememberAll(ctx, ps, results, published, func(i int, err error) {
		if err != nil {
			errs[i] = fmt.Errorf("remember idempotency key: %w", err)
			return
		}
		s.logRecorded(s.logFor(ps[i]), results[i].Duplicate)
	})

	// Later submissions of a key share the fate of the first.
	for i := range subs {
		f, ok := first[ps[i].keyHash()]
		if errs[i] != nil || !ok || f == i {
			continue
		}
		if errs[f] != nil {
			errs[i] = errs[f]
			continue
		}
		results[i] = Result{EventID: results[f].EventID, RecordID: ps[i].recordID, Duplicate: true}
	}
	return results, errs
}

// publishAll stores evs in order, with one wait when the publisher can.
func (s *Service) publishAll(ctx context.Context, evs []Event) ([]bool, []error) {
	if len(evs) == 0 {
		return nil, nil
	}
	if bp, ok := s.pub.(BatchPublisher); ok {
		return bp.PublishAll(ctx, evs)
	}
	dups := make([]bool, len(evs))
	errs := make([]error, len(evs))
	for i, ev := range evs {
		dups[i], errs[i] = s.pub.Publish(ctx, ev)
	}
	return dups, errs
}

// lookupAll looks up the keys of ps[idx...] and calls found once per index.
func (s *Service) lookupAll(ctx context.Context, ps []pending, idx []int, found func(i int, eventID string, ok bool, err error)) {
	bs, ok := s.store.(BatchIdempotencyStore)
	if !ok {
		concurrently(idx, func(i int) {
			id, ok, err := s.store.Lookup(ctx, ps[i].keyHash())
			found(i, id, ok, err)
		})
		return
	}
	keys := make([]string, len(idx))
	for n, i := range idx {
		keys[n] = ps[i].keyHash()
	}
	ids, oks, errs := bs.LookupAll(ctx, keys)
	for n, i := range idx {
		found(i, ids[n], oks[n], errs[n])
	}
}

// rememberAll remembers the keys of ps[idx...] with their results' event
// ids and calls done once per index.
func (s *Service) rememberAll(ctx context.Context, ps []pending, results []Result, idx []int, done func(i int, err error)) {
	bs, ok := s.store.(BatchIdempotencyStore)
	if !ok {
		concurrently(idx, func(i int) {
			done(i, s.store.Remember(ctx, ps[i].keyHash(), results[i].EventID))
		})
		return
	}
	keys := make([]string, len(idx))
	ids := make([]string, len(idx))
	for n, i := range idx {
		keys[n], ids[n] = ps[i].keyHash(), results[i].EventID
	}
	errs := bs.RememberAll(ctx, keys, ids)
	for n, i := range idx {
		done(i, errs[n])
	}
}

// concurrently runs f for each index, at most maxConcurrent at a time,
// and waits for all of them.
func concurrently(idx []int, f func(i int)) {
	const maxConcurrent = 64
	sem := make(chan struct{}, maxConcurrent)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}
