package keyset

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// Supported signing algorithms.
const (
	RS256 = "RS256"
	PS256 = "PS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// Algorithms lists every algorithm the set keeps a key for, in the order
// discovery advertises them.
var Algorithms = []string{RS256, ES256, PS256, EdDSA}

// Key is one signing key with its private part decrypted.
type Key struct {
	ID        string
	Algorithm string
	CreatedAt time.Time
	NotBefore time.Time
	RetiredAt *time.Time
	ExpiresAt *time.Time
	signer    crypto.Signer
	public    crypto.PublicKey
	publicJWK json.RawMessage
}

// Set is the tenant's signing keys, safe for concurrent use.
type Set struct {
	store  ports.KeyStore
	tenant string
	sealer *secret.Sealer
	clock  ports.Clock

	mu      sync.RWMutex
	all     map[string]*Key // every stored key, decoded
	byID    map[string]*Key // published keys
	current map[string]*Key
	jwks    []byte
}

// ErrUnknownKey is returned when a token names a key the set does not hold.
var ErrUnknownKey = errors.New("keyset: unknown key id")

// Load reads the tenant's keys from store, decrypting them with kek, and
// generates a key for every algorithm in Algorithms that has none.
func Load(ctx context.Context, store ports.KeyStore, tenant string, kek []byte, clock ports.Clock) (*Set, error) {
	s, err := secret.NewSealer(kek)
	if err != nil {
		return nil, fmt.Errorf("keyset: key-encryption key: %w", err)
	}
	set := &Set{store: store, tenant: tenant, sealer: s, clock: clock}
	if err := set.Reload(ctx); err != nil {
		return nil, err
	}
	// The missing keys are generated side by side: RSA key generation
	// dominates a first start, and each key is independent of the others.
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(Algorithms))
	)
	for i, alg := range Algorithms {
		if set.Current(alg) != nil {
			continue
		}
		wg.Go(func() {
			_, errs[i] = set.create(ctx, alg, clock.Now(), nil)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := set.Reload(ctx); err != nil {
		return nil, err
	}
	return set, nil
}

// Reload replaces the in-memory keys with the store's.
func (s *Set) Reload(ctx context.Context) error {
	stored, err := s.store.ListKeys(ctx, s.tenant)
	if err != nil {
		return fmt.Errorf("keyset: list keys: %w", err)
	}
	s.mu.RLock()
	known := s.all
	s.mu.RUnlock()
	keys := make([]*Key, 0, len(stored))
	for _, sk := range stored {
		// Key material never changes, so a key decoded before is reused
		// with the store's current timestamps; only new keys are decrypted.
		if old, ok := known[sk.ID]; ok {
			k := *old
			k.NotBefore, k.RetiredAt, k.ExpiresAt = sk.NotBefore, sk.RetiredAt, sk.ExpiresAt
			keys = append(keys, &k)
			continue
		}
		k, err := s.decode(sk)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	s.install(keys)
	return nil
}

// install makes keys the set's keys as of now: a key is published from its
// creation until ExpiresAt, and signs from NotBefore until RetiredAt.
func (s *Set) install(keys []*Key) {
	now := s.clock.Now()
	all := make(map[string]*Key, len(keys))
	byID := make(map[string]*Key, len(keys))
	current := make(map[string]*Key)
	published := make([]json.RawMessage, 0, len(keys))
	for _, k := range keys {
		all[k.ID] = k
		if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
			continue
		}
		byID[k.ID] = k
		published = append(published, k.publicJWK)
		if now.Before(k.NotBefore) || k.RetiredAt != nil && !now.Before(*k.RetiredAt) {
			continue
		}
		// Keys arrive oldest first: the newest active key of an
		// algorithm signs.
		current[k.Algorithm] = k
	}
	doc, _ := json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{published})
	s.mu.Lock()
	s.all, s.byID, s.current, s.jwks = all, byID, current, doc
	s.mu.Unlock()
}

// Keys returns every key the store holds, published or not, oldest first.
func (s *Set) Keys() []*Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Key, 0, len(s.all))
	for _, k := range s.all {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b *Key) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// Rotate creates a new key for each algorithm. The new key is published at
// once but signs only after propagation, so that relying parties holding a
// cached key set have fetched it before they see a token it signed. The keys
// it replaces stop signing at that moment and stay published for grace
// more, so that tokens they signed keep verifying until they expire.
// describe, when not nil, returns the events (key.rotated) stored with
// each new key.
func (s *Set) Rotate(ctx context.Context, propagation, grace time.Duration, describe Describe, algs ...string) ([]*Key, error) {
	now := s.clock.Now()
	var created []*Key
	for _, alg := range algs {
		if !slices.Contains(Algorithms, alg) {
			return created, fmt.Errorf("keyset: unsupported algorithm %q", alg)
		}
		k, err := s.create(ctx, alg, now.Add(propagation), describe)
		if err != nil {
			return created, err
		}
		retire, expire := k.NotBefore, k.NotBefore.Add(grace)
		stored, err := s.store.ListKeys(ctx, s.tenant)
		if err != nil {
			return created, fmt.Errorf("keyset: list keys: %w", err)
		}
		for _, old := range stored {
			if old.Algorithm != alg || old.ID == k.ID || old.RetiredAt != nil && !old.RetiredAt.After(retire) {
				continue
			}
			old.RetiredAt, old.ExpiresAt = &retire, &expire
			if err := s.store.UpdateKey(ctx, old); err != nil {
				return created, fmt.Errorf("keyset: retire key %s: %w", old.ID, err)
			}
		}
		created = append(created, k)
	}
	if err := s.Reload(ctx); err != nil {
		return created, err
	}
	return created, nil
}

// Describe returns the events that go into the store with a new key.
type Describe func(k *Key) []ports.Event

// Generate creates, seals and stores a new key for alg, active at once.
func (s *Set) Generate(ctx context.Context, alg string) (*Key, error) {
	k, err := s.create(ctx, alg, s.clock.Now(), nil)
	if err != nil {
		return nil, err
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s.Lookup(k.ID)
}

// create generates and stores a key that signs from notBefore, with the
// events describe returns for it.
func (s *Set) create(ctx context.Context, alg string, notBefore time.Time, describe Describe) (*Key, error) {
	signer, err := generate(alg)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	pub, err := publicJWK(signer.Public(), "", alg)
	if err != nil {
		return nil, err
	}
	kid, err := thumbprintID(pub)
	if err != nil {
		return nil, err
	}
	pubJSON, err := publicJWK(signer.Public(), kid, alg)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, fmt.Errorf("keyset: encode private key: %w", err)
	}
	sealed, err := s.sealer.Seal(der, s.tenant+"/"+kid)
	if err != nil {
		return nil, err
	}
	sk := &ports.SigningKey{
		ID: kid, Tenant: s.tenant, Algorithm: alg,
		PrivateKey: sealed, PublicJWK: pubJSON,
		CreatedAt: now, NotBefore: notBefore,
	}
	k := &Key{
		ID: kid, Algorithm: alg, CreatedAt: now, NotBefore: notBefore,
		signer: signer, public: signer.Public(), publicJWK: pubJSON,
	}
	var evs []ports.Event
	if describe != nil {
		evs = describe(k)
	}
	if err := s.store.CreateKey(ctx, sk, evs...); err != nil {
		return nil, fmt.Errorf("keyset: store key: %w", err)
	}
	return k, nil
}

func (s *Set) decode(sk *ports.SigningKey) (*Key, error) {
	der, err := s.sealer.Open(sk.PrivateKey, sk.Tenant+"/"+sk.ID)
	if err != nil {
		return nil, fmt.Errorf("keyset: cannot decrypt signing key %s: wrong key-encryption key or corrupted record", sk.ID)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keyset: parse private key %s: %w", sk.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keyset: key %s is not a signing key", sk.ID)
	}
	return &Key{
		ID: sk.ID, Algorithm: sk.Algorithm,
		CreatedAt: sk.CreatedAt, NotBefore: sk.NotBefore,
		RetiredAt: sk.RetiredAt, ExpiresAt: sk.ExpiresAt,
		signer: signer, public: signer.Public(), publicJWK: sk.PublicJWK,
	}, nil
}

// Current returns the key that signs with alg now, or nil.
func (s *Set) Current(alg string) *Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current[alg]
}

// Lookup returns a published key by id.
func (s *Set) Lookup(kid string) (*Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byID[kid]
	if !ok {
		return nil, ErrUnknownKey
	}
	return k, nil
}

// JWKS returns the public key set document.
func (s *Set) JWKS() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.jwks
}

// Sign serializes claims and returns a compact JWS signed by the current key
// of alg, with the given typ header.
func (s *Set) Sign(alg, typ string, claims any) (string, error) {
	k := s.Current(alg)
	if k == nil {
		return "", fmt.Errorf("keyset: no active key for %s", alg)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{alg, k.ID, typ})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, enc.EncodedLen(len(hdr))+enc.EncodedLen(len(payload))+2+enc.EncodedLen(512))
	buf = enc.AppendEncode(buf, hdr)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := jwsbb.Sign(k.signer, alg, buf, nil)
	if err != nil {
		return "", fmt.Errorf("keyset: sign: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// Header is the part of a JWS protected header the server reads.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("keyset: malformed token")
	ErrSignature = errors.New("keyset: bad signature")
)

// Verify checks a compact JWS signed by one of the set's published keys and
// returns its header and payload. The algorithm is taken from the key, never
// from the token, so an attacker cannot pick it.
func (s *Set) Verify(token string) (*Header, []byte, error) {
	h, p, sig, err := splitCompact(token)
	if err != nil {
		return nil, nil, err
	}
	hdrJSON, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	var hdr Header
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return nil, nil, ErrMalformed
	}
	k, err := s.Lookup(hdr.Kid)
	if err != nil {
		return nil, nil, err
	}
	if hdr.Alg != k.Algorithm {
		return nil, nil, ErrSignature
	}
	rawSig, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	if err := jwsbb.Verify(k.public, k.Algorithm, []byte(token[:len(h)+1+len(p)]), rawSig); err != nil {
		return nil, nil, ErrSignature
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, nil, ErrMalformed
	}
	return &hdr, payload, nil
}

func splitCompact(token string) (h, p, sig string, err error) {
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return "", "", "", ErrMalformed
	}
	rest := token[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 || strings.IndexByte(rest[second+1:], '.') >= 0 {
		return "", "", "", ErrMalformed
	}
	return token[:first], rest[:second], rest[second+1:], nil
}

func generate(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256, PS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("keyset: unsupported algorithm %q", alg)
}

func publicJWK(pub crypto.PublicKey, kid, alg string) ([]byte, error) {
	k, err := jwk.Import(pub)
	if err != nil {
		return nil, fmt.Errorf("keyset: public jwk: %w", err)
	}
	if kid != "" {
		if err := k.Set(jwk.KeyIDKey, kid); err != nil {
			return nil, err
		}
	}
	if err := k.Set(jwk.AlgorithmKey, alg); err != nil {
		return nil, err
	}
	if err := k.Set(jwk.KeyUsageKey, "sig"); err != nil {
		return nil, err
	}
	return json.Marshal(k)
}

// thumbprintID names a key by its RFC 7638 thumbprint, so ids are stable
// and never collide between replicas generating keys at once.
func thumbprintID(pubJSON []byte) (string, error) {
	k, err := jwk.ParseKey(pubJSON)
	if err != nil {
		return "", err
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// State says where the key is in its life at now: "pending" (published,
// not signing yet), "active", "retired" (published, no longer signing) or
// "expired".
func (k *Key) State(now time.Time) string {
	return State(now, k.NotBefore, k.RetiredAt, k.ExpiresAt)
}

// State says where a key with these times is in its life at now; see
// Key.State.
func State(now, notBefore time.Time, retiredAt, expiresAt *time.Time) string {
	switch {
	case expiresAt != nil && !now.Before(*expiresAt):
		return "expired"
	case retiredAt != nil && !now.Before(*retiredAt):
		return "retired"
	case now.Before(notBefore):
		return "pending"
	}
	return "active"
}
