package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Bounds on server nonces.
const (
	// NonceLifetime is how long a nonce is accepted after it was issued.
	// Every response to a DPoP request carries a fresh one, so a client
	// in use never holds an expired nonce for long.
	NonceLifetime = 5 * time.Minute
	// nonceSkew tolerates replicas whose clocks run slightly apart: a
	// nonce issued by a replica that is ahead is still good on one that
	// is behind.
	nonceSkew    = 30 * time.Second
	nonceMACSize = 16
)

// Nonces issues and checks server nonces (RFC 9449 §8, §9). A nonce is its
// issue time and an HMAC of it under a server key, so any replica that
// holds the key accepts the nonces of every other, with no shared state,
// and nobody without the key can make one for a time to come.
type Nonces struct {
	key   []byte
	scope []byte
}

// NewNonces returns nonces keyed by key (at least 32 bytes) for scope,
// which keeps apart the nonces of servers that share a key (their
// issuers).
func NewNonces(key []byte, scope string) (*Nonces, error) {
	if len(key) < 32 {
		return nil, errors.New("dpop: the nonce key must be at least 32 bytes")
	}
	return &Nonces{key: append([]byte(nil), key...), scope: []byte(scope)}, nil
}

// Issue returns a nonce good from now for NonceLifetime.
func (n *Nonces) Issue(now time.Time) string {
	var b [8 + nonceMACSize]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.Unix())) // #nosec G115 -- the int64's bits, turned back into the same int64 by Check
	copy(b[8:], n.mac(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Check reports whether nonce is one of these nonces and still good at
// now.
func (n *Nonces) Check(nonce string, now time.Time) bool {
	b, err := decodeSegment(nonce)
	if err != nil || len(b) != 8+nonceMACSize {
		return false
	}
	if !hmac.Equal(b[8:], n.mac(b[:8])) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0) // #nosec G115 -- the MAC matched, so these are the bits Issue copied from an int64
	return !issued.After(now.Add(nonceSkew)) && now.Sub(issued) < NonceLifetime
}

func (n *Nonces) mac(issued []byte) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("dpop-nonce\x00"))
	m.Write(n.scope)
	m.Write([]byte{0})
	m.Write(issued)
	return m.Sum(nil)[:nonceMACSize]
}
