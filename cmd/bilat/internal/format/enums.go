package format

import (
	"fmt"
	"slices"
	"strings"

	bilatv1 "bilat.dev/proto/bilat/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// EnumName prints an enum value in lower case without its type prefix
// (DOMAIN_SCIENCE_TECHNOLOGY -> "science_technology"); the unspecified value
// prints as "". Unknown numbers print as their number.
func EnumName(e protoreflect.Enum) string {
	if e == nil || e.Number() == 0 {
		return ""
	}
	desc := e.Descriptor()
	v := desc.Values().ByNumber(e.Number())
	if v == nil {
		return fmt.Sprint(int32(e.Number()))
	}
	return strings.ToLower(strings.TrimPrefix(string(v.Name()), enumPrefix(desc)))
}

// enumPrefix is the shared prefix of an enum's value names, derived from
// its unspecified value ("DOMAIN_UNSPECIFIED" -> "DOMAIN_").
func enumPrefix(desc protoreflect.EnumDescriptor) string {
	if zero := desc.Values().ByNumber(0); zero != nil {
		return strings.TrimSuffix(string(zero.Name()), "UNSPECIFIED")
	}
	return ""
}

// EnumNames lists the accepted lower-case names of an enum, without the
// unspecified value.
func EnumNames(desc protoreflect.EnumDescriptor) []string {
	prefix := enumPrefix(desc)
	var out []string
	for i := 0; i < desc.Values().Len(); i++ {
		v := desc.Values().Get(i)
		if v.Number() == 0 {
			continue
		}
		out = append(out, strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix)))
	}
	return out
}

// ParseEnum accepts "science_technology", "science-technology",
// "Science_Technology" or the full "DOMAIN_SCIENCE_TECHNOLOGY" and returns
// the value number. The unspecified value is not accepted.
func ParseEnum(desc protoreflect.EnumDescriptor, s string) (protoreflect.EnumNumber, error) {
	name := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	prefix := enumPrefix(desc)
	if name != "" && !strings.HasPrefix(name, prefix) {
		name = prefix + name
	}
	v := desc.Values().ByName(protoreflect.Name(name))
	if v == nil || v.Number() == 0 {
		return 0, fmt.Errorf("unknown %s %q (one of: %s)", enumLabel(desc), s, strings.Join(EnumNames(desc), ", "))
	}
	return v.Number(), nil
}

func enumLabel(desc protoreflect.EnumDescriptor) string {
	return strings.ToLower(strings.TrimSuffix(enumPrefix(desc), "_"))
}

// ParseFlow parses a trade flow name: turnover, exports, imports or balance.
func ParseFlow(s string) (bilatv1.TradeFlow, error) {
	n, err := ParseEnum(bilatv1.TradeFlow(0).Descriptor(), s)
	return bilatv1.TradeFlow(n), err
}

// Domains prints domains as a comma-separated list of lower-case names.
func Domains(ds []bilatv1.Domain) string {
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		if n := EnumName(d); n != "" {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// AgreementKind prints the kind, using the source's own word for OTHER
// when it gives one ("other:strategy").
func AgreementKind(a *bilatv1.Agreement) string {
	k := EnumName(a.GetKind())
	if a.GetKind() == bilatv1.AgreementKind_AGREEMENT_KIND_OTHER && a.GetSubkind() != "" {
		return k + ":" + a.GetSubkind()
	}
	return k
}

// EntityRef prints a reference compactly: the resolved code, or the name as
// written followed by "?" (unresolved) or "??" (ambiguous).
func EntityRef(r *bilatv1.EntityRef) string {
	if r == nil {
		return ""
	}
	if r.GetResolution() == bilatv1.Resolution_RESOLUTION_RESOLVED && r.GetCode() != "" {
		return r.GetCode()
	}
	name := Or(r.GetName(), r.GetCode())
	switch r.GetResolution() {
	case bilatv1.Resolution_RESOLUTION_UNRESOLVED:
		return name + "?"
	case bilatv1.Resolution_RESOLUTION_AMBIGUOUS:
		return name + "??"
	}
	return name
}

// sortedKeys returns the keys of m in order, so views are stable.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
