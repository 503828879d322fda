package adapters

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"bilat.dev/services/enrichment/internal/domain"
)

// DefaultGazetteerPath is where the repository keeps the gazetteer.
const DefaultGazetteerPath = "data/gazetteer/entities.ndjson"

// FindGazetteer locates path: as given when absolute or present relative
// to the working directory; otherwise relative to each parent of the
// working directory and of the executable's directory, so that a binary in
// <repo>/bin or a test deep inside the repository finds <repo>/data.
func FindGazetteer(path string) (string, error) {
	if filepath.IsAbs(path) {
		return path, nil
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		roots = append(roots, filepath.Dir(exe))
	}
	for _, root := range roots {
		for dir := root; ; dir = filepath.Dir(dir) {
			candidate := filepath.Join(dir, path)
			if _, err := os.Stat(candidate); err == nil {
				return candidate, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", fmt.Errorf("gazetteer %s: %w (looked in the working directory, the executable's directory and their parents; set --gazetteer or BILAT_GAZETTEER)", path, fs.ErrNotExist)
}

// LoadGazetteer finds, reads and indexes the gazetteer file.
func LoadGazetteer(path string) (*domain.Gazetteer, string, error) {
	found, err := FindGazetteer(path)
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(found)
	if err != nil {
		return nil, "", fmt.Errorf("read gazetteer: %w", err)
	}
	entities, err := domain.ParseEntities(data)
	if err != nil {
		return nil, "", fmt.Errorf("gazetteer %s: %w", found, err)
	}
	if len(entities) == 0 {
		return nil, "", fmt.Errorf("gazetteer %s: %w", found, errors.New("no entities"))
	}
	g, err := domain.NewGazetteer(entities)
	if err != nil {
		return nil, "", fmt.Errorf("gazetteer %s: %w", found, err)
	}
	return g, found, nil
}
