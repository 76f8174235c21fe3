package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
