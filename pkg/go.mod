module bilat.dev/pkg

go 1.26.0

replace (
	bilat.dev/proto => ../proto
)
