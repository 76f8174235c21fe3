package secret_test

import (
	"strings"
	"testing"

	"oauth2-server.dev/core/secret"
)

// cheap keeps the tests fast; the cost parameters do not change behaviour.
var cheap = secret.Argon2id{Memory: 64, Time: 1, Threads: 1}

func mustHash(t *testing.T, a secret.Argon2id, password string) string {
	t.Helper()
	h, err := a.Hash(password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

func TestArgon2idHash(t *testing.T) {
	t.Run("writes a PHC string carrying its parameters", func(t *testing.T) {
		h := mustHash(t, secret.Argon2id{Memory: 128, Time: 2, Threads: 1}, "correct horse")
		if want := "$argon2id$v=19$m=128,t=2,p=1$"; !strings.HasPrefix(h, want) {
			t.Fatalf("Hash = %q, want prefix %q", h, want)
		}
		if strings.Contains(h, "correct horse") {
			t.Fatalf("Hash = %q contains the password", h)
		}
	})
	t.Run("same password hashes differently each time", func(t *testing.T) {
		first, second := mustHash(t, cheap, "correct horse"), mustHash(t, cheap, "correct horse")
		if first == second {
			t.Fatal("two hashes of one password are equal: the salt is not random")
		}
	})
}

func TestArgon2idVerify(t *testing.T) {
	stored := mustHash(t, cheap, "correct horse")
	tests := []struct {
		name     string
		verifier secret.Argon2id
		password string
		want     bool
	}{
		{name: "right password verifies", verifier: cheap, password: "correct horse", want: true},
		{name: "wrong password fails", verifier: cheap, password: "correct horsE"},
		{name: "empty password fails", verifier: cheap, password: ""},
		{name: "password with trailing space fails", verifier: cheap, password: "correct horse "},
		{name: "stored parameters win over the verifier's", verifier: secret.DefaultArgon2id, password: "correct horse", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := tt.verifier.Verify(stored, tt.password)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if ok != tt.want {
				t.Fatalf("Verify(%q) = %v, want %v", tt.password, ok, tt.want)
			}
		})
	}
}

func TestArgon2idVerifyRefusesMalformedHashes(t *testing.T) {
	const (
		salt = "c29tZXNhbHRzb21lc2FsdA"
		hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	)
	tests := []struct {
		name    string
		encoded string
	}{
		{name: "empty string", encoded: ""},
		{name: "not a PHC string", encoded: "correct horse"},
		{name: "keyed client-secret hash", encoded: "hs256$abc"},
		{name: "argon2i instead of argon2id", encoded: "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + hash},
		{name: "bcrypt hash", encoded: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "older argon2 version", encoded: "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + hash},
		{name: "missing version", encoded: "$argon2id$m=64,t=1,p=1$" + salt + "$" + hash},
		{name: "missing hash", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{name: "empty hash", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$"},
		{name: "extra segment", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash + "$x"},
		{name: "parameters out of order", encoded: "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + hash},
		{name: "non-numeric memory", encoded: "$argon2id$v=19$m=lots,t=1,p=1$" + salt + "$" + hash},
		{name: "negative memory", encoded: "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + hash},
		{name: "threads overflow a byte", encoded: "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + hash},
		{name: "zero passes", encoded: "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + hash},
		{name: "zero threads", encoded: "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash},
		{name: "salt is not base64", encoded: "$argon2id$v=19$m=64,t=1,p=1$!!!$" + hash},
		{name: "hash is not base64", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$***"},
		{name: "padded base64 is not PHC", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + hash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if v := recover(); v != nil {
					t.Fatalf("Verify(%q) panicked: %v", tt.encoded, v)
				}
			}()
			ok, err := cheap.Verify(tt.encoded, "correct horse")
			if ok {
				t.Fatalf("Verify(%q) = true", tt.encoded)
			}
			if err == nil {
				t.Fatalf("Verify(%q) gave no error; a malformed hash must not look like a wrong password", tt.encoded)
			}
		})
	}
}
