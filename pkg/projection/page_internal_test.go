package projection

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"bilat.dev/pkg/testenv"
)

// The page reads return the members newest first and the score of the
// last but one, where a next page resumes, whichever way they read them:
// a first page by rank (and read again when a write moved the entries
// between its two reads), a first page within a score range, and the
// cursor script.
func TestPageReadsGiveTheResumeScore(t *testing.T) {
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
	check := func(name string, got zpageRead, from, count int, inRange func(int64) bool) {
		t.Helper()
		var exp []string
		var expScores []int64
		for i := from; i < len(want) && len(exp) < count; i++ {
			if inRange(scores[i]) {
				exp = append(exp, want[i])
				expScores = append(expScores, scores[i])
			}
		}
		if fmt.Sprint(got.members) != fmt.Sprint(exp) {
			t.Fatalf("%s: members %v, want %v", name, got.members, exp)
		}
		var score int64
		if len(exp) == count {
			score = expScores[count-2]
		}
		if got.resume != score {
			t.Fatalf("%s: resume score %d, want %d", name, got.resume, score)
		}
	}
	all := func(int64) bool { return true }
	first := func(lo, hi string, count int) (pageCmd, zpageRead) {
		t.Helper()
		pipe := r.Client.Pipeline()
		q := queuePage(ctx, pipe, key, lo, hi, nil, count)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		pg, err := s.pageResult(ctx, q, key, lo, hi, nil, count)
		if err != nil {
			t.Fatal(err)
		}
		return q, pg
	}
	for _, count := range []int{2, 5, 30, 31, 40} {
		q, pg := first("-inf", "+inf", count)
		if q.ranked == nil {
			t.Fatalf("first page of %d over every year: not read by rank", count)
		}
		check(fmt.Sprint("first page of ", count), pg, 0, count, all)
	}
	// Within a score range (a year filter): by score.
	for _, count := range []int{2, 5, 20} {
		lo, hi := int64(20190500), int64(20191000)
		q, pg := first(fmt.Sprint(lo), fmt.Sprint(hi), count)
		if q.first == nil {
			t.Fatalf("first page of %d within years: not read by score", count)
		}
		check(fmt.Sprint("first page within years of ", count), pg, 0, count, func(sc int64) bool { return sc >= lo && sc <= hi })
	}

	// A write between the two reads: the entry the second one read is not
	// the page's last but one, so the page is read again with scores.
	moved := pageCmd{ranked: redis.NewStringSliceCmd(ctx), resume: redis.NewZSliceCmd(ctx)}
	moved.ranked.SetVal(want[:5])
	moved.resume.SetVal([]redis.Z{{Score: float64(scores[4]), Member: want[4]}})
	pg, err := s.pageResult(ctx, moved, key, "-inf", "+inf", nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	check("first page read again", pg, 0, 5, all)

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
			check(fmt.Sprintf("page of %d after %s", count, cursor.M), pg, at, count, all)

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
			check(fmt.Sprintf("page of %d after a moved %s", count, gone.M), slow, start, count, all)
			at += count - 1
		}
	}
}
