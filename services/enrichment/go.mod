module bilat.dev/services/enrichment

go 1.26.0

replace (
	bilat.dev/pkg => ../../pkg
	bilat.dev/proto => ../../proto
)
