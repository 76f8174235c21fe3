package dpop

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary DPoP header values, methods and access tokens
// to the proof parser. It must never panic; whatever it accepts must be a
// well-formed proof of that very request, and the same proof must be
// refused for another method or another access token.
func FuzzParse(f *testing.F) {
	f.Add("", "POST", "")
	f.Add("a.b.c", "GET", "token")
	f.Fuzz(func(t *testing.T, raw, method, accessToken string) {
		req := Request{Method: method, URL: tokenURL, AccessToken: accessToken, Now: testNow}
		p, err := Parse(raw, req)
		if err != nil {
			if p != nil {
				t.Fatalf("Parse returned a proof with the error %v", err)
			}
			return
		}
		switch {
		case len(raw) > MaxSize:
			t.Fatalf("accepted a proof of %d bytes", len(raw))
		case !ValidThumbprint(p.JKT):
			t.Fatalf("accepted a proof whose key thumbprint is %q", p.JKT)
		case !slices.Contains(Algorithms, p.Alg):
			t.Fatalf("accepted alg %q", p.Alg)
		case p.JTI == "" || len(p.JTI) > maxJTI:
			t.Fatalf("accepted jti %q", p.JTI)
		case !testNow.Before(p.IssuedAt.Add(MaxAge)) || p.IssuedAt.After(testNow.Add(Leeway)):
			t.Fatalf("accepted iat %v at %v", p.IssuedAt, testNow)
		}
		other := req
		other.Method = method + "X"
		if _, err := Parse(raw, other); !errors.Is(err, ErrMethod) {
			t.Fatalf("the proof was not bound to its method: %v", err)
		}
		if accessToken != "" {
			other = req
			other.AccessToken = accessToken + "X"
			if _, err := Parse(raw, other); !errors.Is(err, ErrAccessToken) {
				t.Fatalf("the proof was not bound to its access token: %v", err)
			}
		}
	})
}

// FuzzNonceCheck feeds arbitrary nonce claims to the nonce check. It must
// never panic, and a nonce it accepts must be one the server issued: the
// very nonce Issue gives for the time it encodes.
func FuzzNonceCheck(f *testing.F) {
	n, err := NewNonces([]byte("0123456789abcdef0123456789abcdef"), "https://id.example.com")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(n.Issue(testNow))
	f.Fuzz(func(t *testing.T, nonce string) {
		if !n.Check(nonce, testNow) {
			return
		}
		b, _ := enc.DecodeString(nonce)
		issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
		if n.Issue(issued) != nonce {
			t.Fatalf("accepted %q, which the server never issued", nonce)
		}
	})
}
