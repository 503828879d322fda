package adapters

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"bilat.dev/services/enrichment/internal/domain"
)

// DefaultFXPath is where the repository keeps the annual average rates.
const DefaultFXPath = "data/fx"

// LoadRates reads every *.csv file of the directory (found like the
// gazetteer). A missing directory is not an error: every conversion is
// then a flagged gap, and found is "".
func LoadRates(path string) (rates *domain.Rates, found string, err error) {
	found, err = FindGazetteer(path)
	if errors.Is(err, fs.ErrNotExist) {
		r, _ := domain.NewRates(nil)
		return r, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	files := []string{found}
	if st, err := os.Stat(found); err == nil && st.IsDir() {
		files, err = filepath.Glob(filepath.Join(found, "*.csv"))
		if err != nil {
			return nil, "", fmt.Errorf("list rates in %s: %w", found, err)
		}
		slices.Sort(files)
	}
	var all []domain.Rate
	for _, f := range files {
		if !strings.HasSuffix(f, ".csv") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			return nil, "", fmt.Errorf("open rates: %w", err)
		}
		rs, err := domain.ParseRatesCSV(fh)
		fh.Close()
		if err != nil {
			return nil, "", fmt.Errorf("rates %s: %w", f, err)
		}
		all = append(all, rs...)
	}
	r, err := domain.NewRates(all)
	if err != nil {
		return nil, "", fmt.Errorf("rates %s: %w", found, err)
	}
	return r, found, nil
}
