package keyset

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"oauth2-server.dev/ports"
)

// memKeyStore is an in-memory ports.KeyStore.
type memKeyStore struct {
	mu      sync.Mutex
	keys    []*ports.SigningKey
	listErr error
}

var _ ports.KeyStore = (*memKeyStore)(nil)

func (s *memKeyStore) CreateKey(_ context.Context, k *ports.SigningKey, _ ...ports.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.keys {
		if e.Tenant == k.Tenant && e.ID == k.ID {
			return ports.ErrConflict
		}
	}
	c := *k
	s.keys = append(s.keys, &c)
	return nil
}

func (s *memKeyStore) UpdateKey(_ context.Context, k *ports.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.keys {
		if e.Tenant == k.Tenant && e.ID == k.ID {
			e.NotBefore, e.RetiredAt, e.ExpiresAt = k.NotBefore, k.RetiredAt, k.ExpiresAt
			return nil
		}
	}
	return ports.ErrNotFound
}

func (s *memKeyStore) ListKeys(_ context.Context, tenant string) ([]*ports.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	var out []*ports.SigningKey
	for _, k := range s.keys {
		if k.Tenant == tenant {
			c := *k
			c.PrivateKey = bytes.Clone(k.PrivateKey)
			out = append(out, &c)
		}
	}
	return out, nil
}

// byAlg returns the stored record of alg.
func (s *memKeyStore) byAlg(t *testing.T, alg string) *ports.SigningKey {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.Algorithm == alg {
			return k
		}
	}
	t.Fatalf("no stored key for %s", alg)
	return nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var (
	testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	kekA    = bytes.Repeat([]byte{0xA1}, 32)
	kekB    = bytes.Repeat([]byte{0xB2}, 32)
)

func mustLoad(t *testing.T, store ports.KeyStore, kek []byte) *Set {
	t.Helper()
	s, err := Load(context.Background(), store, ports.DefaultTenant, kek, fixedClock{testNow})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

// loadNoPanic runs Load and turns a panic into a test failure.
func loadNoPanic(t *testing.T, store ports.KeyStore, kek []byte) (set *Set, err error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("Load panicked: %v", v)
		}
	}()
	return Load(context.Background(), store, ports.DefaultTenant, kek, fixedClock{testNow})
}

var b64 = base64.RawURLEncoding

// compact assembles a compact JWS from raw parts.
func compact(header, payload, sig []byte) string {
	return b64.EncodeToString(header) + "." + b64.EncodeToString(payload) + "." + b64.EncodeToString(sig)
}

// forge signs header and payload with k's private key under alg, as an
// attacker holding a signature oracle of that alg would.
func forge(t *testing.T, k *Key, alg string, header, payload []byte) string {
	t.Helper()
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sig, err := jwsbb.Sign(k.signer, alg, []byte(input), nil)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func TestLoad(t *testing.T) {
	store := &memKeyStore{}
	first := mustLoad(t, store, kekA)

	t.Run("empty store gets one key per algorithm", func(t *testing.T) {
		if len(store.keys) != len(Algorithms) {
			t.Fatalf("store holds %d keys, want %d", len(store.keys), len(Algorithms))
		}
		for _, alg := range Algorithms {
			k := first.Current(alg)
			if k == nil {
				t.Fatalf("no current key for %s", alg)
			}
			if k.Algorithm != alg {
				t.Errorf("Current(%s).Algorithm = %s", alg, k.Algorithm)
			}
			if rec := store.byAlg(t, alg); rec.ID != k.ID {
				t.Errorf("current %s key %s is not the stored one %s", alg, k.ID, rec.ID)
			}
		}
	})
	t.Run("private keys are sealed in the store", func(t *testing.T) {
		for _, alg := range Algorithms {
			rec := store.byAlg(t, alg)
			if _, err := x509.ParsePKCS8PrivateKey(rec.PrivateKey); err == nil {
				t.Errorf("%s private key is stored in clear", alg)
			}
			if bytes.Contains(rec.PublicJWK, []byte(`"d"`)) {
				t.Errorf("%s stored public JWK carries a private member: %s", alg, rec.PublicJWK)
			}
		}
	})
	t.Run("second load reuses the stored keys", func(t *testing.T) {
		again := mustLoad(t, store, kekA)
		if len(store.keys) != len(Algorithms) {
			t.Fatalf("store holds %d keys after a second Load, want %d", len(store.keys), len(Algorithms))
		}
		for _, alg := range Algorithms {
			if a, b := first.Current(alg).ID, again.Current(alg).ID; a != b {
				t.Errorf("%s key changed across loads: %s then %s", alg, a, b)
			}
		}
		tok, err := first.Sign(ES256, "JWT", map[string]string{"sub": "alice"})
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if _, _, err := again.Verify(tok); err != nil {
			t.Fatalf("reloaded set does not verify a token of the first: %v", err)
		}
	})
	t.Run("wrong key-encryption key fails with a clear error", func(t *testing.T) {
		set, err := loadNoPanic(t, store, kekB)
		if err == nil || set != nil {
			t.Fatalf("Load with the wrong key = %v, %v; want an error", set, err)
		}
		if !strings.Contains(err.Error(), "key-encryption key") {
			t.Errorf("error %q does not point at the key-encryption key", err)
		}
		if len(store.keys) != len(Algorithms) {
			t.Errorf("failed Load changed the store: %d keys", len(store.keys))
		}
	})
}

func TestLoadRefuses(t *testing.T) {
	// One populated store, copied for each case so cases do not interfere.
	base := &memKeyStore{}
	mustLoad(t, base, kekA)
	clone := func() *memKeyStore {
		c := &memKeyStore{}
		for _, k := range base.keys {
			kk := *k
			kk.PrivateKey = bytes.Clone(k.PrivateKey)
			c.keys = append(c.keys, &kk)
		}
		return c
	}

	tests := []struct {
		name    string
		kek     []byte
		store   func() *memKeyStore
		wantMsg string
	}{
		{
			name: "short key-encryption key", kek: kekA[:16],
			store: func() *memKeyStore { return &memKeyStore{} }, wantMsg: "32 bytes",
		},
		{
			name: "missing key-encryption key", kek: nil,
			store: func() *memKeyStore { return &memKeyStore{} }, wantMsg: "32 bytes",
		},
		{
			name: "truncated sealed key", kek: kekA, wantMsg: "key-encryption key",
			store: func() *memKeyStore {
				s := clone()
				s.keys[0].PrivateKey = s.keys[0].PrivateKey[:5]
				return s
			},
		},
		{
			name: "empty sealed key", kek: kekA, wantMsg: "key-encryption key",
			store: func() *memKeyStore {
				s := clone()
				s.keys[1].PrivateKey = nil
				return s
			},
		},
		{
			name: "flipped ciphertext byte", kek: kekA, wantMsg: "key-encryption key",
			store: func() *memKeyStore {
				s := clone()
				pk := s.keys[2].PrivateKey
				pk[len(pk)/2] ^= 1
				return s
			},
		},
		{
			name: "sealed key moved onto another record", kek: kekA, wantMsg: "key-encryption key",
			store: func() *memKeyStore {
				s := clone()
				s.keys[0].PrivateKey, s.keys[2].PrivateKey = s.keys[2].PrivateKey, s.keys[0].PrivateKey
				return s
			},
		},
		{
			name: "store failure", kek: kekA, wantMsg: "disk on fire",
			store: func() *memKeyStore { return &memKeyStore{listErr: errors.New("disk on fire")} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := tt.store()
			before := len(store.keys)
			set, err := loadNoPanic(t, store, tt.kek)
			if err == nil || set != nil {
				t.Fatalf("Load = %v, %v; want an error", set, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if len(store.keys) != before {
				t.Errorf("failed Load stored %d new keys", len(store.keys)-before)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	set := mustLoad(t, &memKeyStore{}, kekA)
	claims := map[string]any{"iss": "https://id.example.com", "sub": "alice", "n": 42.0}

	for _, alg := range Algorithms {
		t.Run(alg+" token verifies with its header and claims", func(t *testing.T) {
			tok, err := set.Sign(alg, "at+jwt", claims)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			hdr, payload, err := set.Verify(tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Header{Alg: alg, Kid: set.Current(alg).ID, Typ: "at+jwt"}
			if *hdr != want {
				t.Errorf("header = %+v, want %+v", *hdr, want)
			}
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatalf("payload %q: %v", payload, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(claims) {
				t.Errorf("claims = %v, want %v", got, claims)
			}
		})
	}
	t.Run("typ header is left out when empty", func(t *testing.T) {
		tok, err := set.Sign(ES256, "", claims)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		raw, _ := b64.DecodeString(strings.Split(tok, ".")[0])
		if bytes.Contains(raw, []byte("typ")) {
			t.Errorf("header %s carries an empty typ", raw)
		}
	})
	t.Run("algorithm without a key is refused", func(t *testing.T) {
		for _, alg := range []string{"HS256", "none", "ES384", ""} {
			if tok, err := set.Sign(alg, "JWT", claims); err == nil {
				t.Errorf("Sign(%q) = %q, want an error", alg, tok)
			}
		}
	})
}

func TestVerifyRefuses(t *testing.T) {
	set := mustLoad(t, &memKeyStore{}, kekA)
	other := mustLoad(t, &memKeyStore{}, kekA)
	claims := map[string]string{"sub": "alice", "scope": "openid"}

	good, err := set.Sign(RS256, "JWT", claims)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	parts := strings.Split(good, ".")
	rs := set.Current(RS256)
	header := func(alg, kid string) []byte {
		return []byte(fmt.Sprintf(`{"alg":%q,"kid":%q,"typ":"JWT"}`, alg, kid))
	}
	payload := []byte(`{"sub":"alice","scope":"openid"}`)
	foreign, err := other.Sign(RS256, "JWT", claims)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	foreignParts := strings.Split(foreign, ".")
	sigBytes, _ := b64.DecodeString(parts[2])
	sigBytes[0] ^= 0xFF

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{name: "token from another key set", token: foreign, want: ErrUnknownKey},
		{
			name:  "token from another key set relabelled with our kid",
			token: b64.EncodeToString(header(RS256, rs.ID)) + "." + foreignParts[1] + "." + foreignParts[2],
			want:  ErrSignature,
		},
		{
			name:  "payload changed after signing",
			token: parts[0] + "." + b64.EncodeToString([]byte(`{"sub":"mallory","scope":"openid"}`)) + "." + parts[2],
			want:  ErrSignature,
		},
		{name: "signature changed", token: parts[0] + "." + parts[1] + "." + b64.EncodeToString(sigBytes), want: ErrSignature},
		{name: "signature removed", token: parts[0] + "." + parts[1] + ".", want: ErrSignature},
		{
			name:  "PS256 header on the RS256 key, validly signed with PS256",
			token: forge(t, rs, PS256, header(PS256, rs.ID), payload),
			want:  ErrSignature,
		},
		{
			name:  "RS256 header on the PS256 key, validly signed with RS256",
			token: forge(t, set.Current(PS256), RS256, header(RS256, set.Current(PS256).ID), payload),
			want:  ErrSignature,
		},
		{name: "alg none", token: compact(header("none", rs.ID), payload, nil), want: ErrSignature},
		{name: "alg HS256 with the RS256 signature", token: b64.EncodeToString(header("HS256", rs.ID)) + "." + parts[1] + "." + parts[2], want: ErrSignature},
		{name: "unknown kid", token: compact(header(RS256, "no-such-key"), payload, sigBytes), want: ErrUnknownKey},
		{name: "empty token", token: "", want: ErrMalformed},
		{name: "one segment", token: parts[0], want: ErrMalformed},
		{name: "two segments", token: parts[0] + "." + parts[1], want: ErrMalformed},
		{name: "four segments", token: good + ".x", want: ErrMalformed},
		{name: "five segments like a JWE", token: parts[0] + ".a.b.c.d", want: ErrMalformed},
		{name: "header is not base64url", token: "!!!." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "header is padded base64", token: parts[0] + "==." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "header is not JSON", token: b64.EncodeToString([]byte("alg=RS256")) + "." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "signature is not base64url", token: parts[0] + "." + parts[1] + ".+/+/", want: ErrMalformed},
		{
			name:  "payload is not base64url though signed",
			token: forgeRaw(t, rs, RS256, parts[0]+".*not-base64*"),
			want:  ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr, payload, err := set.Verify(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if hdr != nil || payload != nil {
				t.Errorf("refused token still returned header %v and payload %q", hdr, payload)
			}
		})
	}
}

// forgeRaw signs an arbitrary signing input, which need not be valid
// base64url, with k under alg.
func forgeRaw(t *testing.T, k *Key, alg, input string) string {
	t.Helper()
	sig, err := jwsbb.Sign(k.signer, alg, []byte(input), nil)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func TestJWKS(t *testing.T) {
	set := mustLoad(t, &memKeyStore{}, kekA)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(set.JWKS(), &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v\n%s", err, set.JWKS())
	}

	t.Run("publishes one key per algorithm with kid, alg and use", func(t *testing.T) {
		if len(doc.Keys) != len(Algorithms) {
			t.Fatalf("JWKS has %d keys, want %d", len(doc.Keys), len(Algorithms))
		}
		var algs []string
		for _, k := range doc.Keys {
			alg, _ := k["alg"].(string)
			algs = append(algs, alg)
			cur := set.Current(alg)
			if cur == nil {
				t.Errorf("published key has alg %q, which the set does not sign with", alg)
				continue
			}
			if k["kid"] != cur.ID {
				t.Errorf("%s key has kid %v, want %s", alg, k["kid"], cur.ID)
			}
			if k["use"] != "sig" {
				t.Errorf("%s key has use %v, want sig", alg, k["use"])
			}
		}
		slices.Sort(algs)
		want := slices.Sorted(slices.Values(Algorithms))
		if !slices.Equal(algs, want) {
			t.Errorf("published algorithms %v, want %v", algs, want)
		}
	})
	t.Run("publishes no private key material", func(t *testing.T) {
		for _, k := range doc.Keys {
			for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
				if _, ok := k[member]; ok {
					t.Errorf("%v key publishes private member %q", k["alg"], member)
				}
			}
		}
	})
	t.Run("a standard JOSE library verifies our tokens with the published set", func(t *testing.T) {
		jwks, err := jwk.Parse(set.JWKS())
		if err != nil {
			t.Fatalf("jwk.Parse: %v", err)
		}
		for _, alg := range Algorithms {
			tok, err := set.Sign(alg, "JWT", map[string]string{"sub": "alice"})
			if err != nil {
				t.Fatalf("Sign(%s): %v", alg, err)
			}
			payload, err := jws.Verify([]byte(tok), jws.WithKeySet(jwks))
			if err != nil {
				t.Errorf("%s token does not verify against the JWKS: %v", alg, err)
				continue
			}
			if string(payload) != `{"sub":"alice"}` {
				t.Errorf("%s payload = %s", alg, payload)
			}
		}
	})
}
