package secret_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/core/secret"
)

func TestRandom(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		t.Run(fmt.Sprintf("%d bytes come back base64url encoded", n), func(t *testing.T) {
			s := secret.Random(n)
			if want := base64.RawURLEncoding.EncodedLen(n); len(s) != want {
				t.Fatalf("len(Random(%d)) = %d, want %d", n, len(s), want)
			}
			b, err := base64.RawURLEncoding.DecodeString(s)
			if err != nil {
				t.Fatalf("Random(%d) = %q is not unpadded base64url: %v", n, s, err)
			}
			if len(b) != n {
				t.Fatalf("Random(%d) decodes to %d bytes", n, len(b))
			}
		})
	}
	t.Run("never repeats a value", func(t *testing.T) {
		seen := make(map[string]bool)
		for range 1000 {
			s := secret.Random(32)
			if seen[s] {
				t.Fatalf("Random(32) returned %q twice", s)
			}
			seen[s] = true
		}
	})
}

func TestDigest(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{name: "is the base64url SHA-256 of the token", token: "abc", want: "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"},
		{name: "empty token has the SHA-256 of nothing", token: "", want: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secret.Digest(tt.token); got != tt.want {
				t.Fatalf("Digest(%q) = %q, want %q", tt.token, got, tt.want)
			}
		})
	}
	t.Run("same token gives the same digest", func(t *testing.T) {
		tok := secret.Random(32)
		if a, b := secret.Digest(tok), secret.Digest(tok); a != b {
			t.Fatalf("Digest is not stable: %q then %q", a, b)
		}
	})
	t.Run("different tokens give different digests", func(t *testing.T) {
		if secret.Digest("code-a") == secret.Digest("code-b") {
			t.Fatal("two tokens share a digest")
		}
	})
}

func TestOrderedID(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	t.Run("ids of later milliseconds sort after earlier ones", func(t *testing.T) {
		prev := ""
		for i := range 100 {
			id := secret.OrderedID(at.Add(time.Duration(i) * time.Millisecond))
			if id <= prev {
				t.Fatalf("OrderedID at +%dms = %q sorts before the previous %q", i, id, prev)
			}
			prev = id
		}
	})
	t.Run("ids of one millisecond differ in their 80 random bits", func(t *testing.T) {
		seen := map[string]bool{}
		for range 1000 {
			id := secret.OrderedID(at)
			if len(id) != 22 || strings.Trim(id, "-_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
				t.Fatalf("OrderedID = %q: not 22 URL-safe characters", id)
			}
			if seen[id] {
				t.Fatalf("OrderedID repeated %q", id)
			}
			seen[id] = true
		}
	})
}
