package secret

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"

	"oauth2-server.dev/ports"
)

// Argon2id hashes user passwords into PHC strings
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash). Stored hashes keep their own
// parameters, so raising the cost later does not lock anybody out.
type Argon2id struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

var _ ports.PasswordHasher = Argon2id{}

// DefaultArgon2id is one of the argon2id settings the OWASP Password
// Storage Cheat Sheet lists as equally strong (9 MiB, four passes, one
// lane; the same list has 19 MiB with two passes): of those it takes the
// one whose memory a sign-in holds is small, since every concurrent
// sign-in holds it and the garbage it leaves sets the size the Go heap
// grows to. Hashes made with other settings keep verifying with their own.
var DefaultArgon2id = Argon2id{Memory: 9 * 1024, Time: 4, Threads: 1}

var errMalformedHash = errors.New("secret: malformed argon2id hash")

// Bounds on the cost read from a stored hash.
const (
	maxArgon2Memory = 1 << 20 // KiB: 1 GiB
	maxArgon2Time   = 64
)

// Hash returns the PHC string of password with a fresh random salt.
func (a Argon2id) Hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, a.Time, a.Memory, a.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, a.Memory, a.Time, a.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string encoded.
func (Argon2id) Verify(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errMalformedHash
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, errMalformedHash
	}
	// argon2 panics on zero cost, and a damaged row must not make the
	// server allocate gigabytes or spin for minutes.
	if memory == 0 || memory > maxArgon2Memory || time == 0 || time > maxArgon2Time || threads == 0 {
		return false, errMalformedHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, errMalformedHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want))) // #nosec G115 -- want is decoded from a stored hash, and the stores cap a value at 1 GB (PostgreSQL, SQLite) or less
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
