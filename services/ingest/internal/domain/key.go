package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Record types; they namespace idempotency keys so an agreement and a trade
// figure with the same publisher key never collide.
const (
	TypeAgreement   = "agreement"
	TypeTradeFigure = "trade_figure"
)

// Prefixes of ids derived from content.
const (
	AgreementIDPrefix   = "agr-"
	TradeFigureIDPrefix = "trd-"
)

// ContentHash is the hex SHA-256 of the deterministic protobuf encoding of a
// normalised record. The same record hashes the same whichever door and
// encoding (protobuf, protojson) it came through.
func ContentHash(m proto.Message) (string, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode record for hashing: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// IdempotencyKey is the first non-empty explicit key, or the content hash
// when the publisher gave none.
func IdempotencyKey(contentHash string, explicit ...string) string {
	for _, k := range explicit {
		if k != "" {
			return k
		}
	}
	return contentHash
}

// NamespacedKey prefixes key with the record type: "agreement:<key>".
func NamespacedKey(recordType, key string) string { return recordType + ":" + key }

// KeyHash is the hex SHA-256 of a namespaced key; it is the key in the
// BILAT_IDEMPOTENCY bucket (publisher keys may hold characters KV keys do not allow).
func KeyHash(namespaced string) string {
	sum := sha256.Sum256([]byte(namespaced))
	return hex.EncodeToString(sum[:])
}

// EventID derives the event id from a namespaced key. It is deterministic
// so that two racing submissions of one event publish the same
// Nats-Msg-Id and JetStream keeps only one.
func EventID(namespaced string) string { return "evt-" + KeyHash(namespaced)[:32] }

// RecordID returns id, or when empty one derived from the content hash.
func RecordID(id, prefix, contentHash string) string {
	if id != "" {
		return id
	}
	return prefix + contentHash[:16]
}
