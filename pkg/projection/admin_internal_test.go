package projection

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"bilat.dev/pkg/testenv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// A checksum read in windows of a few keys is the checksum read in one,
// and the windows cover every key once, in order.
func TestChecksumInWindows(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	s := testStore(r.Client)
	for i := range 40 {
		partner := []string{"GE", "CN", "AF", "RU-DA"}[i%4]
		ev := agreementEvent(fmt.Sprintf("e%d", i), uint64(i+1), fmt.Sprintf("a%d", i), partner, int32(2010+i%10), bilatv1.Domain_DOMAIN_TRADE)
		if _, err := s.ApplyAgreement(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := s.ApplyTradeFigure(ctx, tradeEvent(fmt.Sprintf("t%d", i), uint64(100+i), fmt.Sprintf("f%d", i), partner, int32(2015+i%5), bilatv1.TradeFlow_TRADE_FLOW_EXPORTS)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.MarkLayout(ctx); err != nil {
		t.Fatal(err)
	}

	all, more, err := s.keysAfter(ctx, "", 1<<30)
	if err != nil || more {
		t.Fatalf("all keys: more=%v err=%v", more, err)
	}
	if len(all) < 100 || slices.Contains(all, s.keys.LayoutMarker()) || !slices.IsSorted(all) {
		t.Fatalf("%d keys, sorted %v, layout marker among them %v", len(all), slices.IsSorted(all), slices.Contains(all, s.keys.LayoutMarker()))
	}
	sum, n, err := s.Checksum(ctx)
	if err != nil || n != int64(len(all)) {
		t.Fatalf("checksum in one window: %s, %d keys, %v; want %d keys", sum, n, err, len(all))
	}

	was := checksumWindow
	t.Cleanup(func() { checksumWindow = was })
	for _, window := range []int{1, 2, 7, len(all) - 1, len(all)} {
		var got []string
		for after := ""; ; {
			keys, more, err := s.keysAfter(ctx, after, window)
			if err != nil || len(keys) > window {
				t.Fatalf("window %d: %d keys, %v", window, len(keys), err)
			}
			got = append(got, keys...)
			if !more {
				break
			}
			after = keys[len(keys)-1]
		}
		if !slices.Equal(got, all) {
			t.Fatalf("window %d: the windows hold %d keys, want the %d in order", window, len(got), len(all))
		}
		checksumWindow = window
		if wsum, wn, err := s.Checksum(ctx); err != nil || wsum != sum || wn != n {
			t.Fatalf("window %d: checksum %s, %d keys, %v; want %s, %d", window, wsum, wn, err, sum, n)
		}
	}
}
