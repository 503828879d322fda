// Package auth checks bearer tokens on gRPC calls. Operators list the
// clients allowed in a token file; each service declares which scope each of
// its methods needs. Health and reflection are always open.
//
// Token file format, one client per line:
//
//	# client-name  scopes              secret
//	newsdesk       publish             sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//	analyst-ui     read                a-long-random-plain-token
//	ops            read,publish,admin  sha256:...
//
// The secret is either "sha256:" followed by the hex SHA-256 of the token
// (preferred: the file then holds no usable secret) or the token itself.
// Blank lines and lines starting with # are ignored. Scopes are independent:
// admin does not imply read.
package auth

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// Scope is a permission a token grants.
type Scope string

// The scopes Bilat knows.
const (
	Read    Scope = "read"
	Publish Scope = "publish"
	Admin   Scope = "admin"
)

func parseScope(s string) (Scope, error) {
	switch sc := Scope(s); sc {
	case Read, Publish, Admin:
		return sc, nil
	}
	return "", fmt.Errorf("unknown scope %q (want read, publish or admin)", s)
}

// Client is one entry of the token file.
type Client struct {
	Name   string
	Scopes map[Scope]bool
	hash   [sha256.Size]byte
}

// Has reports whether the client was granted scope.
func (c *Client) Has(s Scope) bool { return c.Scopes[s] }

// Tokens is a parsed token file.
type Tokens struct {
	clients []*Client
}

// LoadFile reads a token file.
func LoadFile(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth tokens: %w", err)
	}
	defer f.Close()
	t, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("auth tokens %s: %w", path, err)
	}
	return t, nil
}

// Parse reads the token file format described in the package comment.
func Parse(r io.Reader) (*Tokens, error) {
	t := &Tokens{}
	names := map[string]bool{}
	hashes := map[[sha256.Size]byte]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want <client-name> <scope,scope> <secret>, got %d fields", n, len(f))
		}
		c := &Client{Name: f[0], Scopes: map[Scope]bool{}}
		if names[c.Name] {
			return nil, fmt.Errorf("line %d: client %q listed twice", n, c.Name)
		}
		for _, s := range strings.Split(f[1], ",") {
			sc, err := parseScope(s)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			c.Scopes[sc] = true
		}
		if hx, ok := strings.CutPrefix(f[2], "sha256:"); ok {
			b, err := hex.DecodeString(hx)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("line %d: sha256 secret must be 64 hex digits", n)
			}
			copy(c.hash[:], b)
		} else {
			c.hash = sha256.Sum256([]byte(f[2]))
		}
		// Two clients sharing a token could not be told apart.
		if hashes[c.hash] {
			return nil, fmt.Errorf("line %d: client %q has the same token as another client", n, c.Name)
		}
		names[c.Name], hashes[c.hash] = true, true
		t.clients = append(t.clients, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return t, nil
}

// Len is the number of clients.
func (t *Tokens) Len() int { return len(t.clients) }

// Lookup returns the client holding token, or nil. Every entry is compared,
// in constant time, so the time taken says nothing about which entry (or
// how much of one) matched.
func (t *Tokens) Lookup(token string) *Client {
	h := sha256.Sum256([]byte(token))
	var found *Client
	for _, c := range t.clients {
		if subtle.ConstantTimeCompare(h[:], c.hash[:]) == 1 {
			found = c
		}
	}
	return found
}
