package projection

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/testenv"
)

// The page reads return the members newest first and the score of the
// last but one, where a next page resumes, whichever way they read it: a
// first page's two ZRANGEs, the same when a write moved the entries
// between them, and the cursor script.
func TestPageReadsGiveTheCursorScore(t *testing.T) {
	r := testenv.Redis(t)
	s := testStore(r.Client)
	ctx := context.Background()
	const key = "test:page"
	// 30 entries over 10 scores: ties on every score.
	var want []string
	var scores []int64
	for sc := int64(20191231); sc > 20190000; sc -= 100 {
		for _, m := range []string{"c", "b", "a"} {
			want = append(want, fmt.Sprintf("%s-%d", m, sc))
			scores = append(scores, sc)
		}
	}
	for i, m := range want {
		if err := r.Client.ZAdd(ctx, key, redis.Z{Score: float64(scores[i]), Member: m}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, got zpageRead, from, count int) {
		t.Helper()
		end := min(from+count, len(want))
		if fmt.Sprint(got.members) != fmt.Sprint(want[from:end]) {
			t.Fatalf("%s: members %v, want %v", name, got.members, want[from:end])
		}
		var score int64
		if end-from == count {
			score = scores[end-2]
		}
		if got.lastScore != score {
			t.Fatalf("%s: last score %d, want %d", name, got.lastScore, score)
		}
	}
	first := func(count int) zpageRead {
		t.Helper()
		pipe := r.Client.Pipeline()
		q := queuePage(ctx, pipe, key, "-inf", "+inf", nil, count)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		pg, err := s.pageResult(ctx, q, key, "-inf", "+inf", nil, count)
		if err != nil {
			t.Fatal(err)
		}
		return pg
	}
	for _, count := range []int{2, 5, 30, 31, 40} {
		check(fmt.Sprint("first page of ", count), first(count), 0, count)
	}

	// A write between the two ZRANGEs: the entry the second one read is
	// not the page's last but one, so the page is read again with scores.
	moved := pageCmd{first: redis.NewStringSliceCmd(ctx), last: redis.NewZSliceCmd(ctx)}
	moved.first.SetVal(want[:5])
	moved.last.SetVal([]redis.Z{{Score: float64(scores[4]), Member: want[4]}})
	pg, err := s.pageResult(ctx, moved, key, "-inf", "+inf", nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	check("first page read again", pg, 0, 5)

	// Every later page, through the script and, for a cursor whose member
	// lost its score, through the slow path.
	for _, count := range []int{2, 4, 7} {
		at := count - 1
		for at < len(want) {
			cursor := &pageToken{S: scores[at-1], M: want[at-1]}
			pipe := r.Client.Pipeline()
			q := queuePage(ctx, pipe, key, "-inf", "+inf", cursor, count)
			_, _ = pipe.Exec(ctx) // NOSCRIPT on the first call: pageResult loads it
			pg, err := s.pageResult(ctx, q, key, "-inf", "+inf", cursor, count)
			if err != nil {
				t.Fatal(err)
			}
			check(fmt.Sprintf("page of %d after %s", count, cursor.M), pg, at, count)

			// A cursor whose member has another score now resumes at the
			// cursor's score: the first entry at or below it.
			gone := &pageToken{S: scores[at-1] + 1, M: want[at-1]}
			slow, err := s.zpage(ctx, key, "-inf", "+inf", gone, count)
			if err != nil {
				t.Fatal(err)
			}
			start := 0
			for scores[start] > gone.S {
				start++
			}
			check(fmt.Sprintf("page of %d after a moved %s", count, gone.M), slow, start, count)
			at += count - 1
		}
	}
}
