package secret_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"oauth2-server.dev/core/secret"
)

func mustKeyed(t *testing.T, key []byte) *secret.Keyed {
	t.Helper()
	k, err := secret.NewKeyed(key)
	if err != nil {
		t.Fatalf("NewKeyed: %v", err)
	}
	return k
}

func TestNewKeyed(t *testing.T) {
	tests := []struct {
		name    string
		keyLen  int
		wantErr bool
	}{
		{name: "no key is refused", keyLen: 0, wantErr: true},
		{name: "31-byte key is refused", keyLen: 31, wantErr: true},
		{name: "32-byte key is accepted", keyLen: 32},
		{name: "longer key is accepted", keyLen: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := secret.NewKeyed(bytes.Repeat([]byte{7}, tt.keyLen))
			if tt.wantErr {
				if err == nil || k != nil {
					t.Fatalf("NewKeyed(%d bytes) = %v, %v; want an error", tt.keyLen, k, err)
				}
				if !strings.Contains(err.Error(), "32 bytes") {
					t.Errorf("error %q does not say how long the key must be", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewKeyed(%d bytes): %v", tt.keyLen, err)
			}
		})
	}
}

func TestKeyed(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	other := bytes.Repeat([]byte{2}, 32)
	k := mustKeyed(t, key)
	stored := k.Hash("client-secret")

	t.Run("stored form is versioned and hides the secret", func(t *testing.T) {
		if !strings.HasPrefix(stored, "hs256$") {
			t.Errorf("Hash = %q, want the hs256$ prefix", stored)
		}
		if strings.Contains(stored, "client-secret") {
			t.Errorf("Hash = %q contains the secret", stored)
		}
	})
	t.Run("one hasher gives the same hash every time, also from many goroutines", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 50 {
					if again := k.Hash("client-secret"); again != stored {
						t.Errorf("Hash = %q, want %q as the first time", again, stored)
						return
					}
					if k.Verify(stored, "other-secret") {
						t.Error("Verify accepted another secret")
						return
					}
				}
			})
		}
		wg.Wait()
	})
	t.Run("same key and secret give the same hash", func(t *testing.T) {
		if again := mustKeyed(t, key).Hash("client-secret"); again != stored {
			t.Fatalf("Hash changed between hashers with one key: %q then %q", stored, again)
		}
	})

	tests := []struct {
		name   string
		hasher *secret.Keyed
		stored string
		secret string
		want   bool
	}{
		{name: "right secret verifies", hasher: k, stored: stored, secret: "client-secret", want: true},
		{name: "wrong secret fails", hasher: k, stored: stored, secret: "client-secreT"},
		{name: "empty secret fails", hasher: k, stored: stored, secret: ""},
		{name: "right secret under another key fails", hasher: mustKeyed(t, other), stored: stored, secret: "client-secret"},
		{name: "empty stored hash fails", hasher: k, stored: "", secret: "client-secret"},
		{name: "stored secret in clear fails", hasher: k, stored: "client-secret", secret: "client-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.hasher.Verify(tt.stored, tt.secret); got != tt.want {
				t.Fatalf("Verify(%q, %q) = %v, want %v", tt.stored, tt.secret, got, tt.want)
			}
		})
	}

	t.Run("changing the caller's key slice later does not change hashes", func(t *testing.T) {
		buf := bytes.Repeat([]byte{1}, 32)
		h := mustKeyed(t, buf)
		buf[0] = 9
		if !h.Verify(stored, "client-secret") {
			t.Fatal("hasher followed a change to the caller's key slice")
		}
	})
}

func TestDerive(t *testing.T) {
	master := bytes.Repeat([]byte{3}, 32)
	derive := func(t *testing.T, master []byte, purpose string) []byte {
		t.Helper()
		k, err := secret.Derive(master, purpose)
		if err != nil {
			t.Fatalf("Derive(%q): %v", purpose, err)
		}
		return k
	}

	t.Run("gives a 32-byte key that is not the master", func(t *testing.T) {
		k := derive(t, master, "cookies")
		if len(k) != 32 {
			t.Fatalf("len = %d, want 32", len(k))
		}
		if bytes.Equal(k, master) {
			t.Fatal("derived key equals the master key")
		}
	})
	t.Run("same master and purpose give the same key", func(t *testing.T) {
		if !bytes.Equal(derive(t, master, "cookies"), derive(t, master, "cookies")) {
			t.Fatal("Derive is not stable")
		}
	})

	tests := []struct {
		name             string
		masterA, masterB []byte
		purposeA         string
		purposeB         string
	}{
		{name: "different purposes give different keys", masterA: master, masterB: master, purposeA: "cookies", purposeB: "client-secrets"},
		{name: "purpose is not a prefix match", masterA: master, masterB: master, purposeA: "cookie", purposeB: "cookies"},
		{name: "different masters give different keys", masterA: master, masterB: bytes.Repeat([]byte{4}, 32), purposeA: "cookies", purposeB: "cookies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(derive(t, tt.masterA, tt.purposeA), derive(t, tt.masterB, tt.purposeB)) {
				t.Fatalf("Derive(%q) and Derive(%q) gave the same key", tt.purposeA, tt.purposeB)
			}
		})
	}
}
