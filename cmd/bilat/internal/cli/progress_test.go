package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"bilat.dev/cmd/bilat/internal/client"
	"bilat.dev/cmd/bilat/internal/testsrv"
	bilatv1 "bilat.dev/proto/bilat/v1"
)

func TestRunImportProgress(t *testing.T) {
	srv := testsrv.New()
	addr := serve(t, srv)
	conn, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ingest := bilatv1.NewIngestServiceClient(conn)
	path := filepath.Join(t.TempDir(), "x.ndjson")
	if err := os.WriteFile(path, []byte("{\"agreement\":{\"id\":\"a\"}}\n\n{\"agreement\":{\"id\":\"b\"}}\n{bad}\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A regular file: a bar against the count of non-blank lines.
	var bar bytes.Buffer
	res, err := runImport(context.Background(), ingest, path, nil, &bar, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || res.Rejected != 1 {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(bar.String(), "x.ndjson") || !strings.Contains(bar.String(), "/3, ") {
		t.Errorf("bar output %q", bar.String())
	}

	// stdin: the total is unknown, so a spinner without "/total".
	bar.Reset()
	if _, err := runImport(context.Background(), ingest, "-", strings.NewReader("{\"agreement\":{\"id\":\"c\"}}\n"), &bar, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bar.String(), "importing stdin") || strings.Contains(bar.String(), "/1") {
		t.Errorf("spinner output %q", bar.String())
	}

	// No bar when not asked (stderr not a terminal, or --quiet).
	bar.Reset()
	if _, err := runImport(context.Background(), ingest, path, nil, &bar, false); err != nil {
		t.Fatal(err)
	}
	if bar.Len() != 0 {
		t.Errorf("no bar expected, got %q", bar.String())
	}
}
