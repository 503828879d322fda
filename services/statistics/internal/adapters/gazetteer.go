package adapters

import (
	"bufio"
	"bytes"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protojson"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"bilat.dev/services/statistics/internal/domain"
)

// LoadGazetteer reads a gazetteer file: one protojson bilat.v1.Entity per
// line (blank lines skipped). Unknown fields are tolerated so a newer file
// still loads.
func LoadGazetteer(path string) (*domain.Gazetteer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read gazetteer: %w", err)
	}
	var ents []*bilatv1.Entity
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		e := &bilatv1.Entity{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, e); err != nil {
			return nil, fmt.Errorf("gazetteer %s line %d: %w", path, line, err)
		}
		ents = append(ents, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read gazetteer: %w", err)
	}
	return domain.NewGazetteer(ents), nil
}
