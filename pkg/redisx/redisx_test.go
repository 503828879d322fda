package redisx_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"bilat.dev/pkg/redisx"
	"bilat.dev/pkg/testenv"
)

// Connect speaks redisx.Protocol unless the URL names a protocol; the
// server's CLIENT INFO says which one the connection really uses.
func TestConnectProtocol(t *testing.T) {
	r := testenv.Redis(t)
	ctx := context.Background()
	for url, want := range map[string]string{r.URL: "resp=2", r.URL + "?protocol=3": "resp=3"} {
		c, err := redisx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Do(ctx, "CLIENT", "INFO").Text()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(strings.Fields(info), want) {
			t.Errorf("%s: CLIENT INFO %q, want %s", url, info, want)
		}
	}
}
