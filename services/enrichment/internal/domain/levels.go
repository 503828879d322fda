package domain

import (
	bilatv1 "bilat.dev/proto/bilat/v1"
)

// levelRule is a phrase that decides a party's level. Rules are tried in
// order and the first that matches wins, so the more specific come first
// ("University of Civil Defense of the Ministry …" is a university,
// "Regional Executive Committee" a region, not an agency).
type levelRule struct {
	t     term
	level bilatv1.PartyLevel
}

func rules(level bilatv1.PartyLevel, phrases ...string) []levelRule {
	out := make([]levelRule, len(phrases))
	for i, p := range phrases {
		out[i] = levelRule{t: newTerm(p, 1), level: level}
	}
	return out
}

var levelRules = func() []levelRule {
	var r []levelRule
	add := func(rs []levelRule) { r = append(r, rs...) }
	const (
		state, gov, ministry, agency         = bilatv1.PartyLevel_PARTY_LEVEL_STATE, bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT, bilatv1.PartyLevel_PARTY_LEVEL_MINISTRY, bilatv1.PartyLevel_PARTY_LEVEL_AGENCY
		region, city, enterprise, university = bilatv1.PartyLevel_PARTY_LEVEL_REGION, bilatv1.PartyLevel_PARTY_LEVEL_CITY, bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE, bilatv1.PartyLevel_PARTY_LEVEL_UNIVERSITY
		academy, chamber, association        = bilatv1.PartyLevel_PARTY_LEVEL_ACADEMY, bilatv1.PartyLevel_PARTY_LEVEL_CHAMBER, bilatv1.PartyLevel_PARTY_LEVEL_ASSOCIATION
	)
	add(rules(bilatv1.PartyLevel_PARTY_LEVEL_BLOC, "eurasian economic commission", "евразийск экономическ комисси",
		"eurasian economic union", "евразийск экономическ союз", "union state", "союзн государств", "cis$", "снг$",
		"eaeu$", "еаэс$", "european commission", "european union", "commonwealth independent states",
		"содружеств независим государств", "sco$", "шос$"))
	add(rules(chamber, "chamber commerce", "chamber industry", "торгово промышленн палат", "тпп$", "chamber$", "палат$"))
	add(rules(university, "universit", "университет", "college", "колледж", "higher education", "высш учебн", "вуз", "school$", "школ"))
	add(rules(academy, "academ", "академи", "nas$", "нан$", "research institute", "научно исследовательск", "нии$"))
	add(rules(university, "institute", "институт"))
	add(rules(region, "regional executive", "oblast executive", "district executive", "областн исполнительн", "районн исполнительн",
		"облисполком", "райисполком", "regional government", "regional administration", "governor", "губернатор",
		"областн администрац", "oblast administration", "provincial government", "краев администрац"))
	add(rules(city, "city executive", "городск исполнительн", "горисполком", "mayor", "мэр", "municipal government",
		"city administration", "городск администрац", "city hall", "municipality", "city council"))
	add(rules(ministry, "minist", "министр", "министерств"))
	add(rules(gov, "government", "governments", "правительств", "cabinet ministers", "council ministers", "совет министров",
		"state council", "intergovernment", "межправительств"))
	add(rules(state, "president", "президент", "head state", "глав государств"))
	add(rules(enterprise, "jsc$", "ojsc$", "cjsc$", "llc$", "ltd$", "plc$", "inc$", "gmbh$", "оао$", "зао$", "ооо$", "одо$", "пао$",
		"ао$", "уп$", "руп$", "оао$", "plant", "factory", "works$", "завод", "фабрик", "комбинат", "holding", "холдинг",
		"company", "companies", "компани", "corporation", "корпорац", "enterprise", "предприят", "group$", "firm", "фирм",
		"refinery", "manufactur", "exporter", "importer", "bank$", "банк$", "ограниченн ответственност", "акционерн общество"))
	add(rules(association, "associat", "ассоциац", "union$", "союз$", "federation of", "business council", "деловой совет",
		"society", "обществ", "forum$", "форум"))
	add(rules(agency, "agenc", "агентств", "committee", "комитет", "service", "служб", "inspect", "инспекц", "department",
		"департамент", "authority", "office$", "bureau", "commission", "комисси", "fund$", "фонд", "administration", "администрац",
		"centre", "center", "центр"))
	return r
}()

// InferLevel decides the level a party signs at from its name, then from
// the entity it resolved to: words first (so "Government of the Republic
// of Dagestan" is read as a government), then where that authority sits
// (the government of a region or city signs as that region or city, any
// body of a bloc as the bloc), then the entity's kind and category. It
// returns the words (or fact) that decided.
func InferLevel(name string, ref *bilatv1.EntityRef, g *Gazetteer) (level bilatv1.PartyLevel, term string) {
	w := splitWords(name)
	resolved := ref.GetResolution() == bilatv1.Resolution_RESOLUTION_RESOLVED
	var e *bilatv1.Entity
	if resolved && g != nil {
		e, _ = g.Entity(ref.GetCode())
	}
	if e.GetKind() == bilatv1.EntityKind_ENTITY_KIND_BLOC {
		return bilatv1.PartyLevel_PARTY_LEVEL_BLOC, "entity kind bloc"
	}
	for _, r := range levelRules {
		i := r.t.find(w)
		if i < 0 {
			continue
		}
		level, term = r.level, r.t.matched(w, i)
		// Federation of a country is the country, not an association.
		if level == bilatv1.PartyLevel_PARTY_LEVEL_ASSOCIATION && e.GetKind() == bilatv1.EntityKind_ENTITY_KIND_COUNTRY {
			return bilatv1.PartyLevel_PARTY_LEVEL_STATE, "entity kind country"
		}
		// The government of a region or city signs as that region or city;
		// any body of a bloc signs as the bloc. Agencies and ministries of a
		// region keep their own level.
		if l, ok := placeLevel(name, e, g); ok && (level == bilatv1.PartyLevel_PARTY_LEVEL_GOVERNMENT || l == bilatv1.PartyLevel_PARTY_LEVEL_BLOC) {
			return l, term
		}
		return level, term
	}
	if e != nil {
		switch e.GetKind() {
		case bilatv1.EntityKind_ENTITY_KIND_COUNTRY:
			return bilatv1.PartyLevel_PARTY_LEVEL_STATE, "entity kind country"
		case bilatv1.EntityKind_ENTITY_KIND_REGION:
			return bilatv1.PartyLevel_PARTY_LEVEL_REGION, "entity kind region"
		case bilatv1.EntityKind_ENTITY_KIND_CITY:
			return bilatv1.PartyLevel_PARTY_LEVEL_CITY, "entity kind city"
		}
		switch e.GetCategory() {
		case "enterprise", "park":
			return bilatv1.PartyLevel_PARTY_LEVEL_ENTERPRISE, "category " + e.GetCategory()
		case "university":
			return bilatv1.PartyLevel_PARTY_LEVEL_UNIVERSITY, "category university"
		case "academy":
			return bilatv1.PartyLevel_PARTY_LEVEL_ACADEMY, "category academy"
		case "agency":
			if l, ok := placeLevel(name, e, g); ok && l == bilatv1.PartyLevel_PARTY_LEVEL_BLOC {
				return l, "body of a bloc"
			}
			return bilatv1.PartyLevel_PARTY_LEVEL_AGENCY, "category agency"
		}
		if p, ok := g.Entity(e.GetParent()); ok && p.GetKind() == bilatv1.EntityKind_ENTITY_KIND_BLOC {
			return bilatv1.PartyLevel_PARTY_LEVEL_BLOC, "parent is a bloc"
		}
		return bilatv1.PartyLevel_PARTY_LEVEL_OTHER, "entity"
	}
	if _, h := Strip(Key(name)); h&HintRegion != 0 {
		return bilatv1.PartyLevel_PARTY_LEVEL_REGION, "region word"
	} else if h&HintCity != 0 {
		return bilatv1.PartyLevel_PARTY_LEVEL_CITY, "city word"
	}
	if len(w.key) == 0 { // no words but stopwords
		return bilatv1.PartyLevel_PARTY_LEVEL_UNSPECIFIED, ""
	}
	return bilatv1.PartyLevel_PARTY_LEVEL_OTHER, ""
}

// placeLevel is the level of the place an authority belongs to: the
// entity itself when it is a region, city or bloc, else its parent; for
// an unresolved name, the place its stripped words resolve to.
func placeLevel(name string, e *bilatv1.Entity, g *Gazetteer) (bilatv1.PartyLevel, bool) {
	if g == nil {
		return 0, false
	}
	place := e
	if e.GetKind() == bilatv1.EntityKind_ENTITY_KIND_ORGANISATION {
		place, _ = g.Entity(e.GetParent())
	}
	if place == nil {
		// "Government of Mogilev Region": the place behind the formal words.
		m := g.Resolve(name)
		if m.Resolution != bilatv1.Resolution_RESOLUTION_RESOLVED {
			return 0, false
		}
		place = m.Entity
		if place.GetKind() == bilatv1.EntityKind_ENTITY_KIND_ORGANISATION {
			place, _ = g.Entity(place.GetParent())
		}
	}
	switch place.GetKind() {
	case bilatv1.EntityKind_ENTITY_KIND_REGION:
		return bilatv1.PartyLevel_PARTY_LEVEL_REGION, true
	case bilatv1.EntityKind_ENTITY_KIND_CITY:
		return bilatv1.PartyLevel_PARTY_LEVEL_CITY, true
	case bilatv1.EntityKind_ENTITY_KIND_BLOC:
		return bilatv1.PartyLevel_PARTY_LEVEL_BLOC, true
	}
	return 0, false
}
