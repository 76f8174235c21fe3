package secret

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Keyed hashes secrets with HMAC-SHA256 under a server key. Generated
// client secrets and registration access tokens have 256 bits of entropy,
// so a slow KDF would add cost without adding safety; the key keeps a
// stolen database from being enough to test guesses offline.
type Keyed struct {
	key []byte
}

// keyedPrefix versions stored hashes so the scheme can change later.
const keyedPrefix = "hs256$"

// NewKeyed returns a Keyed hasher using key, which must be at least 32
// bytes.
func NewKeyed(key []byte) (*Keyed, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("secret: keyed hash key must be at least 32 bytes, got %d", len(key))
	}
	return &Keyed{key: append([]byte(nil), key...)}, nil
}

// Hash returns the stored form of s.
func (k *Keyed) Hash(s string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(s))
	return keyedPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports, in constant time, whether s hashes to stored.
func (k *Keyed) Verify(stored, s string) bool {
	return hmac.Equal([]byte(stored), []byte(k.Hash(s)))
}

// Derive returns a 32-byte subkey of master for one purpose, so that one
// operator secret can key the cookie signer, the secret hasher and the key
// sealer without any of them sharing a key.
func Derive(master []byte, purpose string) ([]byte, error) {
	return hkdf.Key(sha256.New, master, nil, "oauth2-server "+purpose, 32)
}
