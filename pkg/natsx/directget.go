package natsx

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
)

// MultiLastMax is the most subjects one GetLastBatch may ask for: the
// server answers a multi_last request with at most 1024 messages.
const MultiLastMax = 1024

// KVStream is the stream that holds a key-value bucket's entries; it
// allows direct gets.
func KVStream(bucket string) string { return "KV_" + bucket }

// numPendingHeader says, on the end-of-batch status, how many messages
// the server did not send.
const numPendingHeader = "Nats-Num-Pending"

// GetLastBatch asks stream, in one batched direct get, for the last
// message of each of subjects, and calls each for every message the
// server holds, in the order it sends them; subjects it holds nothing for
// get no call. One request and one wait instead of a request/reply per
// subject: per-key KeyValue.Get calls were a large part of ingest's CPU
// (docs/benchmarks.md). The stream must allow direct gets, as key-value
// buckets' streams do, and the server must be 2.11 or later: on an older
// one the request fails (an error status, or no answer until ctx ends),
// and that is the error returned.
func GetLastBatch(ctx context.Context, nc *nats.Conn, stream string, subjects []string, each func(*nats.Msg) error) error {
	if len(subjects) == 0 {
		return nil
	}
	if len(subjects) > MultiLastMax {
		return fmt.Errorf("batched get from %s: %d subjects, at most %d", stream, len(subjects), MultiLastMax)
	}
	req, err := json.Marshal(struct {
		MultiLast []string `json:"multi_last"`
		Batch     int      `json:"batch"`
	}{subjects, len(subjects)})
	if err != nil {
		return fmt.Errorf("encode batched get: %w", err)
	}
	inbox := nc.NewInbox()
	// A channel with room for every answer and the end-of-batch status, so
	// none is dropped; a synchronous subscription would allocate its
	// default 65,536-message channel for each batch.
	answers := make(chan *nats.Msg, len(subjects)+1)
	sub, err := nc.ChanSubscribe(inbox, answers)
	if err != nil {
		return fmt.Errorf("subscribe for batched get: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, req); err != nil {
		return fmt.Errorf("batched get from %s: %w", stream, err)
	}
	got := 0
	for {
		var m *nats.Msg
		select {
		case m = <-answers:
		case <-ctx.Done():
			return fmt.Errorf("batched get from %s: %w", stream, ctx.Err())
		}
		switch status := m.Header.Get("Status"); {
		case status == "204":
			// Messages the server held back (past its byte limit) would
			// look like subjects it holds nothing for.
			if p := m.Header.Get(numPendingHeader); p != "" && p != "0" {
				return fmt.Errorf("batched get from %s: %s messages left pending", stream, p)
			}
			return nil
		case status == "404" && got == 0:
			return nil // nothing for any of the subjects
		case status != "":
			return fmt.Errorf("batched get from %s: status %s %s", stream, status, m.Header.Get("Description"))
		}
		got++
		if err := each(m); err != nil {
			return err
		}
	}
}
