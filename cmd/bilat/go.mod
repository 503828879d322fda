module bilat.dev/cmd/bilat

go 1.26.0

replace (
	bilat.dev/pkg => ../../pkg
	bilat.dev/proto => ../../proto
)
