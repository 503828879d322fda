package projection

import (
	"flag"

	"bilat.dev/pkg/config"
)

// RegisterPrefixFlag declares --redis-key-prefix in one place, because the
// writer (statistics) and the reader (gateway) must use the same value.
func RegisterPrefixFlag(fs *flag.FlagSet) *string {
	return config.String(fs, "redis-key-prefix", "BILAT_REDIS_KEY_PREFIX", DefaultPrefix,
		"prefix of every projection key; statistics and gateway must use the same")
}
