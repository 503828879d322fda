package natsx_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"bilat.dev/pkg/natsx"
	"bilat.dev/pkg/testenv"
)

func TestGetLastBatch(t *testing.T) {
	n := testenv.NATS(t)
	ctx := context.Background()
	kv, err := n.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "LOOKUP", History: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"a", "1"}, {"b", "2"}, {"b", "3"}, {"c", "4"}} {
		if _, err := kv.PutString(ctx, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	get := func(keys ...string) (map[string]string, error) {
		subjects := make([]string, len(keys))
		for i, k := range keys {
			subjects[i] = "$KV.LOOKUP." + k
		}
		got := map[string]string{}
		err := natsx.GetLastBatch(ctx, n.Conn, natsx.KVStream("LOOKUP"), subjects, func(m *nats.Msg) error {
			k := strings.TrimPrefix(m.Header.Get(jetstream.SubjectHeader), "$KV.LOOKUP.")
			got[k] = string(m.Data) + m.Header.Get("KV-Operation")
			return nil
		})
		return got, err
	}

	got, err := get("a", "b", "c", "missing")
	if err != nil {
		t.Fatal(err)
	}
	// The last entry of each subject held, a delete marker included.
	if len(got) != 3 || got["a"] != "1" || got["b"] != "3" || got["c"] != "DEL" {
		t.Fatalf("got %v", got)
	}
	if got, err := get("none", "neither"); err != nil || len(got) != 0 {
		t.Fatalf("nothing held: %v, %v", got, err)
	}
	if got, err := get(); err != nil || len(got) != 0 {
		t.Fatalf("no subjects: %v, %v", got, err)
	}
	if _, err := get(make([]string, natsx.MultiLastMax+1)...); err == nil {
		t.Fatal("more subjects than one batched get answers: no error")
	}
	stop := errors.New("stop")
	err = natsx.GetLastBatch(ctx, n.Conn, "KV_LOOKUP", []string{"$KV.LOOKUP.a"}, func(*nats.Msg) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("the callback's error: got %v", err)
	}
	if err := natsx.GetLastBatch(ctx, n.Conn, "NO_SUCH_STREAM", []string{"x"}, func(*nats.Msg) error { return nil }); err == nil {
		t.Fatal("a stream that does not exist: no error")
	}
}
