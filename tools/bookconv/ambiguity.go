package main

// sharedAliases is the allow-list of spellings that denote several entities
// (normalised key -> sorted codes). The generator fails on any other shared
// alias, and on an entry here that no longer matches the data. Enrichment
// resolves a shared spelling to the entity whose canonical name it is, and
// otherwise reports it AMBIGUOUS; the kinds tell the candidates apart.
var sharedAliases = map[string][]string{
	// The book's own: a region or country named after its capital.
	"grozny":    {"RU-CE", "RU-CE.grozny"},
	"kabul":     {"AF", "AF-KAB.kabul"},
	"stavropol": {"RU-STA", "RU-STA.stavropol"},
	// China's SARs (the book's "Hong Kong", canonical on CN-HK) and their
	// ISO 3166-1 entries (canonical "Hong Kong, China", "Macao, China").
	"hong kong": {"CN-HK", "HK"},
	"гонконг":   {"CN-HK", "HK"},
	"macao":     {"CN-MO", "MO"},
	"макао":     {"CN-MO", "MO"},
	// The book's collective party names covering two plants each.
	"minsk and belarusian automobile plant":      {"org.by.belaz", "org.by.maz"},
	"pinsk and oshmyansk meat processing plants": {"org.by.oshmyany-meat-processing-plant", "org.by.pinsk-meat-processing-plant"},
}
