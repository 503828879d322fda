package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The gazetteer's ISO inputs are a trimmed snapshot of Debian's iso-codes
// package kept in data/gazetteer/sources/iso-codes, so that conversion and
// tests never need the package; --refresh-iso-codes rebuilds the snapshot
// from an installed copy (/usr/share).
const (
	isoFile1        = "iso_3166-1.json"
	isoFile2        = "iso_3166-2.json"
	isoFile3        = "iso_3166-3.json"
	isoTranslations = "translations.json"
	isoVersionFile  = "VERSION"
)

// subdivisionCountries are the countries whose first-level ISO 3166-2
// subdivisions the gazetteer carries (the enrichment issue's list).
var subdivisionCountries = []string{"AM", "AZ", "BY", "CN", "GE", "KG", "KZ", "LT", "LV", "MD", "PL", "RU", "TJ", "TM", "UA", "UZ"}

// translationLangs are the gettext catalogues read from iso-codes.
var translationLangs = []string{"be", "ru"}

type isoCountry struct {
	Alpha2       string `json:"alpha_2"`
	Alpha3       string `json:"alpha_3"`
	Name         string `json:"name"`
	OfficialName string `json:"official_name,omitempty"`
	CommonName   string `json:"common_name,omitempty"`
	Numeric      string `json:"numeric,omitempty"`
}

type isoSubdivision struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Parent string `json:"parent,omitempty"`
}

type isoFormer struct {
	Alpha2         string `json:"alpha_2,omitempty"`
	Alpha3         string `json:"alpha_3,omitempty"`
	Alpha4         string `json:"alpha_4"`
	Name           string `json:"name"`
	Comment        string `json:"comment,omitempty"`
	WithdrawalDate string `json:"withdrawal_date,omitempty"`
}

// isoSnapshot is what the gazetteer reads from iso-codes. Translations map
// an ISO code (alpha-2, ISO 3166-2 code or alpha-4) to language to the
// translated name of each field (name, official_name, common_name).
type isoSnapshot struct {
	Version      string
	Countries    []isoCountry
	Subdivisions []isoSubdivision
	Former       []isoFormer
	Translations map[string]map[string]map[string]string
}

// readISOSnapshot loads the committed snapshot.
func readISOSnapshot(dir string) (*isoSnapshot, error) {
	s := &isoSnapshot{}
	v, err := os.ReadFile(filepath.Join(dir, isoVersionFile))
	if err != nil {
		return nil, fmt.Errorf("iso-codes snapshot: %w", err)
	}
	s.Version = strings.TrimSpace(string(v))
	var f1 struct {
		L []isoCountry `json:"3166-1"`
	}
	var f2 struct {
		L []isoSubdivision `json:"3166-2"`
	}
	var f3 struct {
		L []isoFormer `json:"3166-3"`
	}
	for name, dst := range map[string]any{isoFile1: &f1, isoFile2: &f2, isoFile3: &f3, isoTranslations: &s.Translations} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("iso-codes snapshot: %w", err)
		}
		if err := json.Unmarshal(data, dst); err != nil {
			return nil, fmt.Errorf("iso-codes snapshot %s: %w", name, err)
		}
	}
	s.Countries, s.Subdivisions, s.Former = f1.L, f2.L, f3.L
	if len(s.Countries) == 0 || len(s.Subdivisions) == 0 {
		return nil, fmt.Errorf("iso-codes snapshot in %s is empty", dir)
	}
	return s, nil
}

// refreshISOSnapshot rebuilds the snapshot in dir from an installed
// iso-codes (root is normally /usr/share): all of ISO 3166-1 and 3166-3,
// the first-level subdivisions of subdivisionCountries, and the be/ru
// translations of exactly those names.
func refreshISOSnapshot(root, dir string) error {
	src := filepath.Join(root, "iso-codes", "json")
	var f1 struct {
		L []isoCountry `json:"3166-1"`
	}
	var f2 struct {
		L []isoSubdivision `json:"3166-2"`
	}
	var f3 struct {
		L []isoFormer `json:"3166-3"`
	}
	for name, dst := range map[string]any{isoFile1: &f1, isoFile2: &f2, isoFile3: &f3} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return fmt.Errorf("iso-codes not installed? (apt-get install iso-codes): %w", err)
		}
		if err := json.Unmarshal(data, dst); err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
	}
	var subs []isoSubdivision
	for _, s := range f2.L {
		cc, _, _ := strings.Cut(s.Code, "-")
		if s.Parent == "" && slices.Contains(subdivisionCountries, cc) {
			subs = append(subs, s)
		}
	}
	slices.SortFunc(subs, func(a, b isoSubdivision) int { return strings.Compare(a.Code, b.Code) })
	slices.SortFunc(f1.L, func(a, b isoCountry) int { return strings.Compare(a.Alpha2, b.Alpha2) })
	slices.SortFunc(f3.L, func(a, b isoFormer) int { return strings.Compare(a.Alpha4, b.Alpha4) })

	tr := map[string]map[string]map[string]string{}
	add := func(code, lang, field, msgid string, cat map[string]string) {
		if t := cat[msgid]; msgid != "" && t != "" && t != msgid {
			if tr[code] == nil {
				tr[code] = map[string]map[string]string{}
			}
			if tr[code][lang] == nil {
				tr[code][lang] = map[string]string{}
			}
			tr[code][lang][field] = t
		}
	}
	for _, lang := range translationLangs {
		cats := map[string]map[string]string{}
		for _, domain := range []string{"iso_3166-1", "iso_3166-2", "iso_3166-3"} {
			c, err := readMO(filepath.Join(root, "locale", lang, "LC_MESSAGES", domain+".mo"))
			if err != nil {
				return err
			}
			cats[domain] = c
		}
		for _, c := range f1.L {
			add(c.Alpha2, lang, "name", c.Name, cats["iso_3166-1"])
			add(c.Alpha2, lang, "official_name", c.OfficialName, cats["iso_3166-1"])
			add(c.Alpha2, lang, "common_name", c.CommonName, cats["iso_3166-1"])
		}
		for _, s := range subs {
			add(s.Code, lang, "name", s.Name, cats["iso_3166-2"])
		}
		for _, f := range f3.L {
			add(f.Alpha4, lang, "name", f.Name, cats["iso_3166-3"])
		}
	}
	version, err := installedISOVersion(root)
	if err != nil {
		return err
	}
	out := map[string]any{
		isoFile1:        map[string]any{"3166-1": f1.L},
		isoFile2:        map[string]any{"3166-2": subs},
		isoFile3:        map[string]any{"3166-3": f3.L},
		isoTranslations: tr,
	}
	for name, v := range out {
		data, err := marshalIndent(v)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := writeFile(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, isoVersionFile), []byte(version+"\n"))
}

// installedISOVersion reads the version from iso-codes' pkg-config file.
func installedISOVersion(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "pkgconfig", "iso-codes.pc"))
	if err != nil {
		return "", fmt.Errorf("iso-codes version: %w", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "Version:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("iso-codes.pc has no Version line")
}

// marshalIndent renders sorted, indented JSON without HTML escaping, so the
// snapshot is stable and readable in diffs.
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readMO parses a GNU gettext .mo catalogue (msgid -> msgstr; plural and
// context entries are kept as their raw keys, which iso-codes does not use).
func readMO(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gettext catalogue: %w", err)
	}
	if len(data) < 28 {
		return nil, fmt.Errorf("%s: too short for a .mo file", path)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case 0x950412de:
		bo = binary.LittleEndian
	case 0xde120495:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a .mo file", path)
	}
	n := int(bo.Uint32(data[8:]))
	origTab, transTab := int(bo.Uint32(data[12:])), int(bo.Uint32(data[16:]))
	str := func(tab, i int) (string, error) {
		off := tab + 8*i
		if off+8 > len(data) {
			return "", fmt.Errorf("%s: table out of range", path)
		}
		l, o := int(bo.Uint32(data[off:])), int(bo.Uint32(data[off+4:]))
		if o+l > len(data) {
			return "", fmt.Errorf("%s: string out of range", path)
		}
		return string(data[o : o+l]), nil
	}
	out := make(map[string]string, n)
	for i := range n {
		k, err := str(origTab, i)
		if err != nil {
			return nil, err
		}
		v, err := str(transTab, i)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}
