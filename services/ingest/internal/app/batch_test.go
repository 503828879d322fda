package app

import (
	"context"
	"errors"
	"fmt"
	"testing"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/proto"
)

// batchPublisher is memPublisher with PublishAll, failing the events whose
// ids are in fail.
type batchPublisher struct {
	memPublisher
	calls int
	fail  map[string]bool
}

func (p *batchPublisher) PublishAll(ctx context.Context, evs []Event) ([]bool, []error) {
	p.calls++
	dups := make([]bool, len(evs))
	errs := make([]error, len(evs))
	for i, ev := range evs {
		if p.fail[ev.MsgID] {
			errs[i] = errors.New("nats: timeout")
			continue
		}
		dups[i], errs[i] = p.Publish(ctx, ev)
	}
	return dups, errs
}

// batchStore is memStore with LookupAll and RememberAll, counting calls.
type batchStore struct {
	*memStore
	lookups, remembers int
}

func (s *batchStore) LookupAll(ctx context.Context, keys []string) ([]string, []bool, []error) {
	s.lookups++
	ids, found, errs := make([]string, len(keys)), make([]bool, len(keys)), make([]error, len(keys))
	for i, k := range keys {
		ids[i], found[i], errs[i] = s.Lookup(ctx, k)
	}
	return ids, found, errs
}

func (s *batchStore) RememberAll(ctx context.Context, keys, ids []string) []error {
	s.remembers++
	errs := make([]error, len(keys))
	for i, k := range keys {
		errs[i] = s.Remember(ctx, k, ids[i])
	}
	return errs
}

// eachStore runs f with a store serving one key per call and with one
// serving batches.
func eachStore(t *testing.T, f func(t *testing.T, mem *memStore, store IdempotencyStore)) {
	t.Run("one key per call", func(t *testing.T) {
		mem := &memStore{}
		f(t, mem, mem)
	})
	t.Run("batches", func(t *testing.T) {
		mem := &memStore{}
		bs := &batchStore{memStore: mem}
		f(t, mem, bs)
		if bs.lookups != 1 || bs.remembers > 1 {
			t.Errorf("%d lookup and %d remember calls, want 1 and at most 1", bs.lookups, bs.remembers)
		}
	})
}

func titled(title string) *bilatv1.Agreement {
	a := agreement()
	a.Title = title
	return a
}

// A batch records what one-at-a-time submission would, in the same order,
// with one publish call: new records, a key seen earlier in the batch, a
// key already in the store, an invalid record, and a trade figure.
func TestSubmitBatchLikeOneAtATime(t *testing.T) {
	subs := []Submission{
		{Agreement: titled("Agreement one"), Root: "agreement"},
		{Agreement: titled("Agreement two"), Root: "agreement", Meta: Meta{IdempotencyKey: "bulletin-7"}},
		{Agreement: titled("Agreement three"), Root: "agreement", Meta: Meta{IdempotencyKey: "bulletin-7"}},
		{Agreement: &bilatv1.Agreement{}, Root: "agreement"},
		{Figure: figure(), Root: "trade_figure"},
		{Agreement: titled("Agreement known"), Root: "agreement"},
		{Agreement: titled("Agreement one"), Root: "agreement"},
	}
	eachStore(t, func(t *testing.T, mem *memStore, store IdempotencyStore) {
		submitBatchLikeOneAtATime(t, subs, mem, store)
	})
}

func submitBatchLikeOneAtATime(t *testing.T, subs []Submission, mem *memStore, store IdempotencyStore) {
	ctx := context.Background()
	oneStore := &memStore{}
	one := newService(&memPublisher{}, oneStore)
	if _, err := one.SubmitAgreement(ctx, titled("Agreement known"), "agreement", Meta{}); err != nil {
		t.Fatal(err)
	}
	var wantRes []Result
	var wantErr []bool
	for _, sub := range subs {
		var r Result
		var err error
		if sub.Figure != nil {
			r, err = one.SubmitTradeFigure(ctx, sub.Figure, sub.Root, sub.Meta)
		} else {
			r, err = one.SubmitAgreement(ctx, sub.Agreement, sub.Root, sub.Meta)
		}
		wantRes, wantErr = append(wantRes, r), append(wantErr, err != nil)
	}

	pub := &batchPublisher{}
	svc := newService(&pub.memPublisher, store)
	svc.pub = pub
	if _, err := svc.SubmitAgreement(ctx, titled("Agreement known"), "agreement", Meta{}); err != nil {
		t.Fatal(err)
	}
	known := len(pub.events)
	res, errs := svc.SubmitBatch(ctx, subs)
	for i := range subs {
		if (errs[i] != nil) != wantErr[i] || res[i] != wantRes[i] {
			t.Errorf("submission %d: %+v, %v; one at a time %+v, error %v", i, res[i], errs[i], wantRes[i], wantErr[i])
		}
	}
	if _, ok := IsValidation(errs[3]); !ok {
		t.Errorf("invalid record: %v, want a validation error", errs[3])
	}
	if pub.calls != 1 {
		t.Errorf("%d publish calls, want 1", pub.calls)
	}
	var got []string
	for _, ev := range pub.events[known:] {
		got = append(got, ev.MsgID)
	}
	want := []string{res[0].EventID, res[1].EventID, res[4].EventID}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("published %v, want %v (submission order)", got, want)
	}
	for i := range subs {
		if errs[i] == nil {
			if _, ok := mem.m[pendingOf(t, subs[i]).keyHash()]; !ok {
				t.Errorf("submission %d: key not remembered", i)
			}
		}
	}
	if !proto.Equal(subs[0].Agreement, titled("Agreement one")) {
		t.Error("SubmitBatch modified a submission")
	}
}

func pendingOf(t *testing.T, sub Submission) pending {
	t.Helper()
	p, err := sub.prepare()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A failed publish fails its submission and the later ones with its key,
// is not remembered, and leaves the others recorded.
func TestSubmitBatchPublishFailure(t *testing.T) {
	subs := []Submission{
		{Agreement: titled("Fails"), Root: "agreement", Meta: Meta{IdempotencyKey: "k1"}},
		{Agreement: titled("Works"), Root: "agreement"},
		{Agreement: titled("Same key"), Root: "agreement", Meta: Meta{IdempotencyKey: "k1"}},
	}
	failing := pendingOf(t, subs[0]).eventID()
	eachStore(t, func(t *testing.T, mem *memStore, store IdempotencyStore) {
		pub := &batchPublisher{fail: map[string]bool{failing: true}}
		svc := newService(&pub.memPublisher, store)
		svc.pub = pub
		res, errs := svc.SubmitBatch(context.Background(), subs)
		if errs[0] == nil || errs[2] == nil || errs[1] != nil || res[1].EventID == "" {
			t.Fatalf("results %+v, errors %v", res, errs)
		}
		if _, ok := mem.m[pendingOf(t, subs[0]).keyHash()]; ok {
			t.Error("the failed key was remembered")
		}
		if _, ok := mem.m[pendingOf(t, subs[1]).keyHash()]; !ok {
			t.Error("the recorded key was not remembered")
		}
		if len(pub.events) != 1 {
			t.Errorf("%d events, want 1", len(pub.events))
		}
	})
}

// A lookup failure fails the submissions of that key only through the
// store, without publishing anything for them.
func TestSubmitBatchLookupFailure(t *testing.T) {
	eachStore(t, func(t *testing.T, mem *memStore, store IdempotencyStore) {
		mem.lookupErr = errors.New("nats: no responders")
		pub := &batchPublisher{}
		svc := newService(&pub.memPublisher, store)
		svc.pub = pub
		_, errs := svc.SubmitBatch(context.Background(), []Submission{{Agreement: titled("A"), Root: "agreement"}, {Figure: figure(), Root: "trade_figure"}})
		for i, err := range errs {
			if err == nil {
				t.Errorf("submission %d recorded without its lookup", i)
			}
		}
		if len(pub.events) != 0 {
			t.Errorf("%d events published", len(pub.events))
		}
	})
}
