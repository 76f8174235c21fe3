package pkce_test

import (
	"errors"
	"strings"
	"testing"

	"oauth2-server.dev/core/pkce"
)

// The example of RFC 7636 Appendix B.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestChallenge(t *testing.T) {
	t.Run("matches the RFC 7636 appendix B example", func(t *testing.T) {
		if got := pkce.Challenge(rfcVerifier); got != rfcChallenge {
			t.Fatalf("Challenge(%q) = %q, want %q", rfcVerifier, got, rfcChallenge)
		}
	})
}

func TestCheckChallenge(t *testing.T) {
	tests := []struct {
		name      string
		challenge string
		method    string
		want      error
	}{
		{name: "S256 challenge is accepted", challenge: rfcChallenge, method: "S256"},
		{name: "missing method means S256", challenge: rfcChallenge, method: ""},
		{name: "plain method is refused", challenge: rfcChallenge, method: "plain", want: pkce.ErrMethod},
		{name: "plain method is refused even with a verifier-shaped challenge", challenge: rfcVerifier, method: "plain", want: pkce.ErrMethod},
		{name: "method is case-sensitive", challenge: rfcChallenge, method: "s256", want: pkce.ErrMethod},
		{name: "unknown method is refused", challenge: rfcChallenge, method: "S512", want: pkce.ErrMethod},
		{name: "empty challenge is refused", challenge: "", method: "S256", want: pkce.ErrChallenge},
		{name: "42 characters are too short", challenge: rfcChallenge[:42], method: "S256", want: pkce.ErrChallenge},
		{name: "44 characters are too long", challenge: rfcChallenge + "A", method: "S256", want: pkce.ErrChallenge},
		{name: "padded challenge is refused", challenge: rfcChallenge[:42] + "=", method: "S256", want: pkce.ErrChallenge},
		{name: "standard base64 alphabet is refused", challenge: "+" + rfcChallenge[1:], method: "S256", want: pkce.ErrChallenge},
		{name: "slash is refused", challenge: "/" + rfcChallenge[1:], method: "S256", want: pkce.ErrChallenge},
		{name: "space is refused", challenge: " " + rfcChallenge[1:], method: "S256", want: pkce.ErrChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pkce.CheckChallenge(tt.challenge, tt.method)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckChallenge(%q, %q) = %v, want %v", tt.challenge, tt.method, err, tt.want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	unreserved := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	longest := strings.Repeat("a", 128)
	shortest := strings.Repeat("Z", 43)
	tests := []struct {
		name      string
		challenge string
		verifier  string
		want      error
	}{
		{name: "RFC 7636 example verifier matches", challenge: rfcChallenge, verifier: rfcVerifier},
		{name: "every unreserved character is allowed", challenge: pkce.Challenge(unreserved), verifier: unreserved},
		{name: "43 characters are enough", challenge: pkce.Challenge(shortest), verifier: shortest},
		{name: "128 characters are allowed", challenge: pkce.Challenge(longest), verifier: longest},
		{name: "another verifier does not match", challenge: rfcChallenge, verifier: shortest, want: pkce.ErrMismatch},
		{name: "verifier sent as the challenge does not match", challenge: rfcVerifier, verifier: rfcVerifier, want: pkce.ErrMismatch},
		{name: "challenge sent as the verifier does not match", challenge: rfcChallenge, verifier: rfcChallenge, want: pkce.ErrMismatch},
		{name: "empty verifier is refused", challenge: rfcChallenge, verifier: "", want: pkce.ErrVerifier},
		{name: "42 characters are too short", challenge: pkce.Challenge(shortest[:42]), verifier: shortest[:42], want: pkce.ErrVerifier},
		{name: "129 characters are too long", challenge: pkce.Challenge(longest + "a"), verifier: longest + "a", want: pkce.ErrVerifier},
		{name: "plus sign is refused", challenge: pkce.Challenge(shortest + "+"), verifier: shortest + "+", want: pkce.ErrVerifier},
		{name: "slash is refused", challenge: pkce.Challenge(shortest + "/"), verifier: shortest + "/", want: pkce.ErrVerifier},
		{name: "padding is refused", challenge: pkce.Challenge(shortest + "="), verifier: shortest + "=", want: pkce.ErrVerifier},
		{name: "space is refused", challenge: pkce.Challenge(shortest + " "), verifier: shortest + " ", want: pkce.ErrVerifier},
		{name: "non-ASCII letter is refused", challenge: pkce.Challenge(shortest + "é"), verifier: shortest + "é", want: pkce.ErrVerifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pkce.Verify(tt.challenge, tt.verifier)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%q, %q) = %v, want %v", tt.challenge, tt.verifier, err, tt.want)
			}
		})
	}
}
