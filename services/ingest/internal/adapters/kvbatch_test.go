package adapters

import (
	"context"
	"fmt"
	"testing"
	"time"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
	"bilat.dev/services/ingest/internal/domain"
)

// TestIdempotencyKVBatch checks that a batch's lookups and writes give
// what one call per key gives: present, missing and deleted keys, batches
// past the server's 1024 answers per request.
func TestIdempotencyKVBatch(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := OpenIdempotencyKV(ctx, n.JS, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) string { return domain.KeyHash(fmt.Sprintf("agreement:k%d", i)) }

	if ids, found, errs := kv.LookupAll(ctx, nil); len(ids) != 0 || len(found) != 0 || len(errs) != 0 {
		t.Fatalf("empty batch: %v %v %v", ids, found, errs)
	}
	for _, i := range []int{1, 3, 4} {
		if err := kv.Remember(ctx, key(i), fmt.Sprintf("evt-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.kv.Delete(ctx, key(3)); err != nil {
		t.Fatal(err)
	}
	keys := []string{key(1), key(2), key(3), key(4)}
	// One batched get answers them (LookupAll would fall back quietly).
	if err := kv.lookupBatch(ctx, keys, make([]string, 4), make([]bool, 4)); err != nil {
		t.Fatalf("batched get: %v", err)
	}
	ids, found, errs := kv.LookupAll(ctx, keys)
	for n, want := range []string{"evt-1", "", "", "evt-4"} {
		if errs[n] != nil || found[n] != (want != "") || ids[n] != want {
			t.Errorf("key %d: %q found=%v err=%v, want %q", n+1, ids[n], found[n], errs[n], want)
		}
	}

	// New (2), existing (1: kept, not overwritten) and deleted (3: created again).
	for n, err := range kv.RememberAll(ctx, keys[:3], []string{"evt-1b", "evt-2", "evt-3b"}) {
		if err != nil {
			t.Errorf("remember key %d: %v", n+1, err)
		}
	}
	for n, want := range []string{"evt-1", "evt-2", "evt-3b", "evt-4"} {
		id, ok, err := kv.Lookup(ctx, keys[n])
		if err != nil || !ok || id != want {
			t.Errorf("after RememberAll, key %d = %q, %v, %v; want %q", n+1, id, ok, err, want)
		}
	}

	// 2,500 keys, every other one remembered: three requests.
	var many, stored, storedIDs []string
	for i := 100; i < 2600; i++ {
		many = append(many, key(i))
		if i%2 == 0 {
			stored, storedIDs = append(stored, key(i)), append(storedIDs, fmt.Sprintf("evt-%d", i))
		}
	}
	for n, err := range kv.RememberAll(ctx, stored, storedIDs) {
		if err != nil {
			t.Fatalf("remember %d: %v", n, err)
		}
	}
	if err := kv.lookupBatch(ctx, many[:natsx.MultiLastMax], make([]string, natsx.MultiLastMax), make([]bool, natsx.MultiLastMax)); err != nil {
		t.Fatalf("batched get of %d keys: %v", natsx.MultiLastMax, err)
	}
	ids, found, errs = kv.LookupAll(ctx, many)
	for n := range many {
		i := n + 100
		want := ""
		if i%2 == 0 {
			want = fmt.Sprintf("evt-%d", i)
		}
		if errs[n] != nil || found[n] != (want != "") || ids[n] != want {
			t.Fatalf("key %d: %q found=%v err=%v, want %q", i, ids[n], found[n], errs[n], want)
		}
	}
}

// TestIdempotencyKVBatchFallback: where the bucket answers no batched
// gets, the keys are looked up one at a time with the same answers.
func TestIdempotencyKVBatchFallback(t *testing.T) {
	n := testenv.NATS(t)
	n.EnsureStreams(t, natsx.StreamsConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := n.JS.Stream(ctx, "KV_"+natsx.BucketIdempotency)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.AllowDirect = false
	if _, err := n.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	kv, err := OpenIdempotencyKV(ctx, n.JS, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Remember(ctx, domain.KeyHash("agreement:a"), "evt-a"); err != nil {
		t.Fatal(err)
	}
	if err := kv.lookupBatch(ctx, []string{domain.KeyHash("agreement:a")}, make([]string, 1), make([]bool, 1)); err == nil {
		t.Fatal("a batched get without direct gets succeeded; the test checks nothing")
	}
	ids, found, errs := kv.LookupAll(ctx, []string{domain.KeyHash("agreement:a"), domain.KeyHash("agreement:b")})
	if errs[0] != nil || errs[1] != nil || !found[0] || found[1] || ids[0] != "evt-a" {
		t.Fatalf("fallback lookups: %v %v %v", ids, found, errs)
	}
}
