package adapters

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindGazetteerWalksUp(t *testing.T) {
	// From this package directory the repository's data/ is four levels up.
	found, err := FindGazetteer(DefaultGazetteerPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(filepath.ToSlash(found), "/data/gazetteer/entities.ndjson") {
		t.Errorf("found %s", found)
	}
	abs, _ := filepath.Abs(found)
	if got, err := FindGazetteer(abs); err != nil || got != abs {
		t.Errorf("absolute path: %s, %v", got, err)
	}
	if _, err := FindGazetteer("no/such/gazetteer.ndjson"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadGazetteerRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.ndjson":     "\n",
		"garbage.ndjson":   "{\"code\":\"GE\"}\nnot json\n",
		"duplicate.ndjson": "{\"code\":\"GE\",\"name\":\"Georgia\"}\n{\"code\":\"GE\",\"name\":\"Georgia\"}\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadGazetteer(p); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	g, path, err := LoadGazetteer(DefaultGazetteerPath)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() < 190 || path == "" {
		t.Errorf("repository gazetteer: %d entities from %q", g.Len(), path)
	}
}
