package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Random returns n bytes from the system's secure random source, encoded
// base64url without padding. 32 bytes give the 256 bits the server uses for
// codes, tokens and client secrets.
func Random(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never fails on supported platforms (it panics
	// internally if the kernel source is unavailable).
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Digest returns the SHA-256 of a high-entropy token, base64url encoded.
// Codes and refresh tokens are stored by digest: a fast hash is enough when
// the input has 256 bits of entropy, and it keeps the token endpoint fast.
func Digest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// orderedEncoding is base64 over a URL-safe alphabet in byte order, so
// that encoded ids sort as the bytes they encode.
var orderedEncoding = base64.NewEncoding("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz").WithPadding(base64.NoPadding)

// OrderedID returns a 128-bit identifier that sorts by time: the
// millisecond of now in its first 48 bits, then 80 random bits, in 22
// URL-safe characters whose byte order is the order of the ids. Records keyed by such ids are
// appended at the end of their indexes instead of landing on random pages,
// which keeps inserts cheap for the store. Use it where an identifier names
// a record and need not be secret (a jti, a grant id); codes and tokens
// stay wholly random.
func OrderedID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i)) // #nosec G115 -- keeps one byte of the 48-bit time on purpose
	}
	_, _ = rand.Read(b[6:])
	return orderedEncoding.EncodeToString(b[:])
}
