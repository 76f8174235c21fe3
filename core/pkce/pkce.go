package pkce

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
)

// MethodS256 is the only supported code_challenge_method.
const MethodS256 = "S256"

// Errors returned by the checks; callers turn them into protocol errors.
var (
	ErrMethod    = errors.New("code_challenge_method must be S256")
	ErrChallenge = errors.New("code_challenge must be 43 base64url characters")
	ErrVerifier  = errors.New("code_verifier must be 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]")
	ErrMismatch  = errors.New("code_verifier does not match code_challenge")
)

// CheckChallenge validates a code_challenge and its method as sent to the
// authorization endpoint. An empty method means S256 here, since "plain"
// (the RFC's default) is refused.
func CheckChallenge(challenge, method string) error {
	if method != "" && method != MethodS256 {
		return ErrMethod
	}
	// RFC 7636 §4.2: S256 challenges are BASE64URL(SHA256(verifier)), 43
	// characters without padding.
	if len(challenge) != 43 {
		return ErrChallenge
	}
	if _, err := base64.RawURLEncoding.DecodeString(challenge); err != nil {
		return ErrChallenge
	}
	return nil
}

// Verify checks a code_verifier against the stored challenge.
func Verify(challenge, verifier string) error {
	// RFC 7636 §4.1: 43 to 128 unreserved characters.
	if len(verifier) < 43 || len(verifier) > 128 {
		return ErrVerifier
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
		if !ok {
			return ErrVerifier
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	// RFC 7636 §4.6: compare BASE64URL(SHA256(code_verifier)) with the
	// challenge.
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) != 1 {
		return ErrMismatch
	}
	return nil
}

// Challenge returns the S256 challenge of verifier.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
