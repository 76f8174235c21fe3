package secret

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"sync"
)

// Keyed hashes secrets with HMAC-SHA256 under a server key. Generated
// client secrets and registration access tokens have 256 bits of entropy,
// so a slow KDF would add cost without adding safety; the key keeps a
// stolen database from being enough to test guesses offline.
type Keyed struct {
	key []byte
	// macs holds HMAC states keyed with key, reset before each use: a
	// fresh one costs two SHA-256 blocks of key padding and allocations
	// on every client authentication.
	macs sync.Pool
}

// keyedPrefix versions stored hashes so the scheme can change later.
const keyedPrefix = "hs256$"

// keyedLen is the length of a stored hash: the prefix and the unpadded
// base64url of 32 bytes.
var keyedLen = len(keyedPrefix) + base64.RawURLEncoding.EncodedLen(sha256.Size)

// NewKeyed returns a Keyed hasher using key, which must be at least 32
// bytes.
func NewKeyed(key []byte) (*Keyed, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("secret: keyed hash key must be at least 32 bytes, got %d", len(key))
	}
	k := &Keyed{key: append([]byte(nil), key...)}
	k.macs.New = func() any { return hmac.New(sha256.New, k.key) }
	return k, nil
}

// appendHash appends the stored form of s to dst.
func (k *Keyed) appendHash(dst []byte, s string) []byte {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	_, _ = io.WriteString(m, s) // a hash.Hash's Write never returns an error
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	k.macs.Put(m)
	dst = append(dst, keyedPrefix...)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:])
}

// Hash returns the stored form of s.
func (k *Keyed) Hash(s string) string {
	return string(k.appendHash(make([]byte, 0, keyedLen), s))
}

// Verify reports, in constant time, whether s hashes to stored.
func (k *Keyed) Verify(stored, s string) bool {
	var buf [64]byte
	return hmac.Equal([]byte(stored), k.appendHash(buf[:0], s))
}

// Derive returns a 32-byte subkey of master for one purpose, so that one
// operator secret can key the cookie signer, the secret hasher and the key
// sealer without any of them sharing a key.
func Derive(master []byte, purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, master, nil, "oauth2-server "+purpose, 32)
}
