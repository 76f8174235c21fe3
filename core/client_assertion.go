package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
)

// Client assertion constants (RFC 7523 §2.2, OIDC Core §9).
const (
	AssertionTypeJWTBearer  = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" // #nosec G101 -- an RFC 7523 identifier, not a credential
	AuthMethodPrivateKeyJWT = "private_key_jwt"
	AuthMethodSecretJWT     = "client_secret_jwt"
)

// secretAssertionAlgs are the HMAC algorithms of client_secret_jwt.
var secretAssertionAlgs = []string{"HS256", "HS384", "HS512"}

// assertionAlgs are the signature algorithms accepted on client
// assertions; "none" and HMAC never are.
var assertionAlgs = []string{keyset.RS256, keyset.PS256, keyset.ES256, keyset.EdDSA}

// Bounds on client assertions.
const (
	maxAssertionLifetime = 10 * time.Minute
	assertionClockSkew   = 30 * time.Second
	maxAssertionSize     = 16 << 10
)

// clientKeysMetadata is the registration metadata naming a client's keys.
type clientKeysMetadata struct {
	JWKS       json.RawMessage `json:"jwks"`
	JWKSURI    string          `json:"jwks_uri"`
	SigningAlg string          `json:"token_endpoint_auth_signing_alg"`
}

// authenticateAssertion checks a private_key_jwt client assertion
// (RFC 7523 §3): signed by a key of the client's registered key set, issued
// by and about the client, for this server, unexpired, short-lived and
// never seen before.
func (cs *clientService) authenticateAssertion(ctx context.Context, cred ClientCredentials) (*ports.Client, error) {
	fail := func(why string) error {
		return ErrInvalidClient.WithDescription("client assertion rejected: " + why)
	}
	if len(cred.Assertion) > maxAssertionSize {
		return nil, fail("too large")
	}
	parts := strings.Split(cred.Assertion, ".")
	if len(parts) != 3 {
		return nil, fail("not a compact JWS")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims assertionClaims
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil {
		return nil, fail("malformed header or claims")
	}
	// RFC 7523 §3: iss and sub are both the client_id.
	if claims.Iss == "" || claims.Iss != claims.Sub || cred.ID != "" && cred.ID != claims.Sub {
		return nil, fail("iss and sub must both be the client_id")
	}
	c, err := cs.dir.client(ctx, claims.Sub)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, fail("unknown client")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	meta := registeredMetadata(c).clientKeysMetadata
	signingInput := []byte(parts[0] + "." + parts[1])
	sig, err := decodeSig(parts[2])
	if err != nil {
		return nil, fail("malformed signature")
	}
	switch c.TokenEndpointAuth {
	case AuthMethodSecretJWT:
		if !slices.Contains(secretAssertionAlgs, hdr.Alg) || meta.SigningAlg != "" && hdr.Alg != meta.SigningAlg {
			return nil, fail("algorithm " + hdr.Alg + " is not accepted")
		}
		if cs.sealer == nil || len(c.SecretSealed) == 0 {
			return nil, fail("the client has no secret to check the assertion with")
		}
		key, err := cs.sealer.Open(c.SecretSealed, c.Tenant+"/"+c.ID)
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		if jwsbb.Verify(key, hdr.Alg, signingInput, sig) != nil {
			return nil, fail("bad signature")
		}
	case AuthMethodPrivateKeyJWT:
		if !slices.Contains(assertionAlgs, hdr.Alg) || meta.SigningAlg != "" && hdr.Alg != meta.SigningAlg {
			return nil, fail("algorithm " + hdr.Alg + " is not accepted")
		}
		if err := cs.verifyPrivateKeyJWT(ctx, meta, hdr.Alg, hdr.Kid, signingInput, sig); err != nil {
			return nil, fail(err.Error())
		}
	default:
		return nil, fail("the client is not registered for private_key_jwt or client_secret_jwt")
	}
	now := cs.clock.Now()
	if why := claims.check(cs, now); why != "" {
		return nil, fail(why)
	}
	replayed, err := cs.useOnce(ctx, "client-assertion|"+c.ID, &claims, now)
	if err != nil {
		return nil, err
	}
	if replayed {
		return nil, fail("jti was used before")
	}
	return c, nil
}

// verifyPrivateKeyJWT checks an assertion's signature against the client's
// key set, fetching jwks_uri once more when the cached set does not verify
// (the client may have rotated its keys).
func (cs *clientService) verifyPrivateKeyJWT(ctx context.Context, meta clientKeysMetadata, alg, kid string, signingInput, sig []byte) error {
	set, err := cs.clientKeySet(ctx, meta, false)
	if err != nil {
		return err
	}
	if verifyWithSet(set, alg, kid, signingInput, sig) {
		return nil
	}
	if meta.JWKSURI == "" {
		return errors.New("bad signature")
	}
	if set, err = cs.clientKeySet(ctx, meta, true); err != nil || !verifyWithSet(set, alg, kid, signingInput, sig) {
		return errors.New("bad signature")
	}
	return nil
}

// assertionClaims are the claims RFC 7523 §3 checks on a JWT used as a
// client assertion or as an authorization grant.
type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *float64        `json:"exp"`
	Nbf *float64        `json:"nbf"`
	Iat *float64        `json:"iat"`
	Jti string          `json:"jti"`
}

// check applies RFC 7523 §3 to the claims of a JWT whose signature checked
// out: for this server, unexpired, short-lived, with a jti. It returns
// what is wrong, or "".
// assertionAudience tells whether an assertion's aud names this server.
type assertionAudience interface {
	audienceIsMe(raw json.RawMessage) bool
}

func (c *assertionClaims) check(me assertionAudience, now time.Time) string {
	// RFC 7523 §3: exp is required; a long-lived assertion is a replay
	// risk, so its lifetime is bounded.
	if c.Exp == nil {
		return "exp is required"
	}
	exp := c.expiry()
	switch {
	case !now.Before(exp.Add(assertionClockSkew)):
		return "expired"
	case exp.Sub(now) > maxAssertionLifetime:
		return "exp is too far in the future"
	case c.Nbf != nil && now.Add(assertionClockSkew).Before(time.Unix(int64(*c.Nbf), 0)):
		return "not valid yet"
	case c.Iat != nil && now.Add(assertionClockSkew).Before(time.Unix(int64(*c.Iat), 0)):
		return "issued in the future"
	case !me.audienceIsMe(c.Aud):
		return "aud must be the issuer or the endpoint"
	case c.Jti == "":
		return "jti is required"
	}
	return ""
}

func (c *assertionClaims) expiry() time.Time { return time.Unix(int64(*c.Exp), 0) }

// useOnce records the assertion's jti under namespace until it expires;
// RFC 7523 §3 lets a jti be used once, and the store makes that hold
// across replicas.
func (cs *clientService) useOnce(ctx context.Context, namespace string, c *assertionClaims, now time.Time) (replayed bool, err error) {
	return useJTIOnce(ctx, cs.store, cs.settings.tenant, namespace, c, now)
}

// useJTIOnce is useOnce for the tenant's store.
func useJTIOnce(ctx context.Context, store ports.JTIStore, tenant, namespace string, c *assertionClaims, now time.Time) (replayed bool, err error) {
	err = store.UseJTI(ctx, tenant, namespace+"|"+c.Jti, c.expiry().Add(assertionClockSkew), now)
	if errors.Is(err, ports.ErrAlreadyUsed) {
		return true, nil
	}
	if err != nil {
		return false, ErrServerError.Wrap(err)
	}
	return false, nil
}

func decodeSig(seg string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(seg) }

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// parseAudience reads a JWT aud, a string or an array of strings (RFC
// 7519 §4.1.3).
func parseAudience(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var auds []string
	if json.Unmarshal(raw, &auds) != nil {
		return nil, false
	}
	return auds, true
}

// audienceIsMe accepts an aud (string or array) naming the issuer or one
// of the endpoints that authenticate clients.
func (cs *clientService) audienceIsMe(raw json.RawMessage) bool {
	auds, ok := parseAudience(raw)
	if !ok {
		return false
	}
	mine := []string{cs.settings.issuer, cs.server.TokenEndpoint(), cs.server.IntrospectionEndpoint(), cs.server.RevocationEndpoint(),
		cs.server.BackchannelAuthenticationEndpoint()}
	for _, a := range auds {
		if slices.Contains(mine, a) {
			return true
		}
	}
	return false
}

// verifyWithSet tries the set's keys that may have made the signature:
// the one named by kid, else every key of a type that fits alg.
func verifyWithSet(set jwk.Set, alg, kid string, input, sig []byte) bool {
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if kid != "" {
			if id, ok := k.KeyID(); !ok || id != kid {
				continue
			}
		}
		if ka, ok := k.Algorithm(); ok && ka.String() != alg {
			continue
		}
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			continue
		}
		if !keyFitsAlg(raw, alg) {
			continue
		}
		if jwsbb.Verify(raw, alg, input, sig) == nil {
			return true
		}
	}
	return false
}

func keyFitsAlg(key any, alg string) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return alg == keyset.RS256 || alg == keyset.PS256
	case *ecdsa.PublicKey:
		return alg == keyset.ES256
	case ed25519.PublicKey:
		return alg == keyset.EdDSA
	}
	return false
}

// parseClientJWKS parses a registered key set and refuses private keys.
func parseClientJWKS(raw []byte) (jwk.Set, error) {
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, errors.New("jwks is not a valid JWK set")
	}
	if set.Len() == 0 {
		return nil, errors.New("jwks holds no keys")
	}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if private, _ := jwk.IsPrivateKey(k); private {
			return nil, errors.New("jwks must hold public keys only")
		}
	}
	return set, nil
}

// clientKeySet returns the client's keys: the registered jwks, or the
// document at jwks_uri, cached.
func (cs *clientService) clientKeySet(ctx context.Context, meta clientKeysMetadata, refresh bool) (jwk.Set, error) {
	if len(meta.JWKS) > 0 && string(meta.JWKS) != "null" {
		return parseClientJWKS(meta.JWKS)
	}
	if meta.JWKSURI == "" {
		return nil, errors.New("the client has no registered keys")
	}
	return cs.jwksCache.get(ctx, meta.JWKSURI, refresh)
}

// jwksCache fetches clients' jwks_uri documents with a timeout and a size
// cap, and keeps them for a while so the token endpoint does not call out
// on every request.
type jwksCache struct {
	client *http.Client
	clock  ports.Clock
	ttl    time.Duration
	// minRefetch bounds how often a failing signature may force a refetch.
	minRefetch time.Duration

	mu      sync.Mutex
	entries map[string]jwksEntry
}

func newJWKSCache(client *http.Client, clock ports.Clock) *jwksCache {
	return &jwksCache{client: client, clock: clock, ttl: 5 * time.Minute, minRefetch: 30 * time.Second, entries: map[string]jwksEntry{}}
}

type jwksEntry struct {
	set       jwk.Set
	fetchedAt time.Time
}

// maxJWKSSize caps a fetched key set document.
const maxJWKSSize = 64 << 10

func (c *jwksCache) get(ctx context.Context, uri string, refresh bool) (jwk.Set, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.entries[uri]
	c.mu.Unlock()
	if ok && (!refresh && now.Sub(e.fetchedAt) < c.ttl || refresh && now.Sub(e.fetchedAt) < c.minRefetch) {
		return e.set, nil
	}
	set, err := c.fetch(ctx, uri)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.entries[uri] = jwksEntry{set: set, fetchedAt: now}
	c.mu.Unlock()
	return set, nil
}

func (c *jwksCache) fetch(ctx context.Context, uri string) (jwk.Set, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "https" {
		return nil, errors.New("jwks_uri must be an https URL")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching jwks_uri failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks_uri answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading jwks_uri failed")
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("jwks_uri document exceeds %d bytes", maxJWKSSize)
	}
	return parseClientJWKS(body)
}
