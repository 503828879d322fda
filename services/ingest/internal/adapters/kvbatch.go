package adapters

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
)

// A batch of submissions looks up and remembers its keys with one request
// and one wait each instead of a request/reply per key: in the pipeline's
// profiles the per-key KeyValue calls (their goroutines, replies and
// nats.go's key check by regexp) were a fifth of ingest's CPU.

const (
	// kvSubjectPrefix is where the bucket keeps key k: $KV.<bucket>.<k>.
	kvSubjectPrefix = "$KV." + natsx.BucketIdempotency + "."
)

// LookupAll is Lookup for many keys: per key the stored event id, whether
// there was one, or the error.
//
// Keys are hex hashes (domain.KeyHash), valid subject tokens, so they are
// put in subjects as they are. A server that cannot answer a batched get
// (nats-server before 2.11) gets the keys one at a time.
func (s *IdempotencyKV) LookupAll(ctx context.Context, keyHashes []string) ([]string, []bool, []error) {
	ids := make([]string, len(keyHashes))
	found := make([]bool, len(keyHashes))
	errs := make([]error, len(keyHashes))
	for lo := 0; lo < len(keyHashes); lo += natsx.MultiLastMax {
		hi := min(lo+natsx.MultiLastMax, len(keyHashes))
		err := s.lookupBatch(ctx, keyHashes[lo:hi], ids[lo:hi], found[lo:hi])
		if err == nil {
			continue
		}
		s.fallback.Do(func() {
			s.log.Warn("batched idempotency key lookup failed; looking keys up one at a time", "err", err)
		})
		for i := lo; i < hi; i++ {
			ids[i], found[i], errs[i] = s.Lookup(ctx, keyHashes[i])
		}
	}
	return ids, found, errs
}

// lookupBatch asks for the last entry of every key in one direct get and
// fills ids and found.
func (s *IdempotencyKV) lookupBatch(ctx context.Context, keyHashes, ids []string, found []bool) error {
	clear(found)
	at := make(map[string]int, len(keyHashes))
	subjects := make([]string, len(keyHashes))
	for i, k := range keyHashes {
		subjects[i] = kvSubjectPrefix + k
		at[subjects[i]] = i
	}
	return natsx.GetLastBatch(ctx, s.js.Conn(), natsx.KVStream(natsx.BucketIdempotency), subjects, func(m *nats.Msg) error {
		i, ok := at[m.Header.Get(jetstream.SubjectHeader)]
		if !ok {
			return fmt.Errorf("batched get: answer for subject %q, not asked for", m.Header.Get(jetstream.SubjectHeader))
		}
		// A deleted or purged key is no key, as KeyValue.Get has it.
		if op := m.Header.Get("KV-Operation"); op != "DEL" && op != "PURGE" {
			ids[i], found[i] = string(m.Data), true
		}
		return nil
	})
}

// RememberAll is Remember for many keys, with one wait for all the
// acknowledgements. Each key is created as KeyValue.Create does (a publish
// expecting no earlier entry for the key); a key that was not created so
// (it exists, it was deleted, the acknowledgement did not come) goes
// through Remember, which handles each case.
func (s *IdempotencyKV) RememberAll(ctx context.Context, keyHashes, eventIDs []string) []error {
	errs := make([]error, len(keyHashes))
	futures := make([]jetstream.PubAckFuture, len(keyHashes))
	for i, k := range keyHashes {
		msg := &nats.Msg{Subject: kvSubjectPrefix + k, Data: []byte(eventIDs[i])}
		futures[i], errs[i] = s.js.PublishMsgAsync(msg, jetstream.WithExpectLastSequencePerSubject(0))
	}
	waitCtx, cancel := context.WithTimeout(ctx, natsx.AsyncAckTimeout)
	defer cancel()
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs[i] = err
		case <-waitCtx.Done():
			errs[i] = jetstream.ErrAsyncPublishTimeout
		}
	}
	for i, err := range errs {
		if err != nil {
			errs[i] = s.Remember(ctx, keyHashes[i], eventIDs[i])
		}
	}
	return errs
}
