package core

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"oauth2-server.dev/core/dpop"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// Introspection is a token introspection response (RFC 7662 §2.2). An
// inactive token has Active false and nothing else.
type Introspection struct {
	Active    bool          `json:"active"`
	Scope     string        `json:"scope,omitempty"`
	ClientID  string        `json:"client_id,omitempty"`
	Sub       string        `json:"sub,omitempty"`
	Exp       int64         `json:"exp,omitempty"`
	Iat       int64         `json:"iat,omitempty"`
	Nbf       int64         `json:"nbf,omitempty"`
	Jti       string        `json:"jti,omitempty"`
	Aud       audienceClaim `json:"aud,omitempty"`
	Iss       string        `json:"iss,omitempty"`
	TokenType string        `json:"token_type,omitempty"`
	// Cnf carries the confirmation of a sender-constrained token (RFC
	// 7800), when the token is bound.
	Cnf map[string]string `json:"cnf,omitempty"`
	// AuthorizationDetails are the token's (RFC 9396 §9.2).
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

// Introspect answers an introspection request from an authenticated
// client (RFC 7662 §2.1). A client sees the tokens issued to it; a client
// registered as a resource server also sees the access tokens whose
// audience it is. Everything else reads as inactive, so the endpoint tells a
// stranger nothing about other clients' tokens. A DPoP proof is not
// required; one that is sent must be valid.
func (ts *tokenService) Introspect(ctx context.Context, cred ClientCredentials, token string, proof DPoPProof) (*Introspection, *ports.Client, error) {
	client, _, err := ts.authenticateWithProof(ctx, cred, proof, ts.endpoints.introspection)
	if err != nil {
		return nil, nil, err
	}
	if token == "" {
		return nil, nil, ErrInvalidRequest.WithDescription("token is missing")
	}
	rec, jti, err := ts.findToken(ctx, token)
	if errors.Is(err, ports.ErrNotFound) {
		return &Introspection{}, client, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !rec.Active(ts.clock.Now()) || !ts.mayIntrospect(client, rec) {
		return &Introspection{}, client, nil
	}
	in := &Introspection{
		Active: true, Scope: rec.Scope, ClientID: rec.ClientID, Sub: rec.Subject,
		Exp: rec.ExpiresAt.Unix(), Iat: rec.IssuedAt.Unix(), Nbf: rec.IssuedAt.Unix(),
		Jti: jti, Iss: ts.settings.issuer, AuthorizationDetails: rawDetails(rec.AuthorizationDetails),
	}
	if rec.Kind == ports.TokenAccess {
		in.Aud = splitAudience(rec.Audience)
		in.TokenType = TokenTypeBearer
		if rec.JKT != "" {
			in.TokenType = TokenTypeDPoP
		}
	} else {
		in.TokenType = "refresh_token"
	}
	// RFC 9449 §6.2: the resource server learns the key the token is
	// bound to, and checks the proof against it.
	if rec.JKT != "" {
		in.Cnf = map[string]string{"jkt": rec.JKT}
	}
	// RFC 8705 §3.2: and the certificate, to compare with the one of its
	// own TLS connection.
	if rec.X5TS256 != "" {
		if in.Cnf == nil {
			in.Cnf = map[string]string{}
		}
		in.Cnf["x5t#S256"] = rec.X5TS256
	}
	return in, client, nil
}

// findToken resolves a presented token, JWT or opaque, access or refresh,
// to its record. It returns the JWT's jti when the token is a JWT. Tokens
// that are not the server's own are ErrNotFound.
func (ts *tokenService) findToken(ctx context.Context, raw string) (*ports.Token, string, error) {
	id, jti := secret.Digest(raw), ""
	if known, ok := ts.dir.verified.get(id, ts.clock.Now()); ok {
		id, jti = known, known
	} else if strings.Count(raw, ".") == 2 {
		hdr, payload, err := ts.keys.Verify(raw)
		if err != nil || hdr.Typ != "at+jwt" {
			return nil, "", ports.ErrNotFound
		}
		var claims struct {
			Iss string `json:"iss"`
			Jti string `json:"jti"`
			Exp int64  `json:"exp"`
		}
		if err := json.Unmarshal(payload, &claims); err != nil || claims.Iss != ts.settings.issuer || claims.Jti == "" {
			return nil, "", ports.ErrNotFound
		}
		ts.dir.verified.put(id, claims.Jti, time.Unix(claims.Exp, 0))
		id, jti = claims.Jti, claims.Jti
	}
	now := ts.clock.Now()
	if rec, ok := ts.dir.records.get(id, now); ok {
		return rec, jti, nil
	}
	rec, err := ts.store.GetToken(ctx, ts.settings.tenant, id)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, "", ports.ErrNotFound
	}
	if err != nil {
		return nil, "", ErrServerError.Wrap(err)
	}
	// Refresh tokens change as they rotate, and their users read them
	// once: only access tokens are kept.
	if rec.Kind == ports.TokenAccess {
		ts.dir.records.put(rec.ID, rec, now.Add(recordCacheTTL))
	}
	return rec, jti, nil
}

func (ts *tokenService) mayIntrospect(c *ports.Client, rec *ports.Token) bool {
	if rec.ClientID == c.ID {
		return true
	}
	if rec.Kind != ports.TokenAccess {
		return false
	}
	m := ts.dir.metadata(c)
	if !m.ResourceServer {
		return false
	}
	for _, aud := range splitAudience(rec.Audience) {
		if aud == c.ID || slices.Contains(m.ResourceURIs, aud) {
			return true
		}
	}
	return false
}

// introspectionJWTClaims is the payload of a JWT introspection response
// (RFC 9701 §5).
type introspectionJWTClaims struct {
	Iss                string         `json:"iss"`
	Aud                string         `json:"aud"`
	Iat                int64          `json:"iat"`
	TokenIntrospection *Introspection `json:"token_introspection"`
}

// SignIntrospection returns the introspection response as a signed JWT for
// the requesting client (RFC 9701), with the client's registered
// introspection_signed_response_alg or the ID token default.
func (ts *tokenService) SignIntrospection(client *ports.Client, in *Introspection) (string, error) {
	alg := ts.settings.idTokenAlg
	if m := ts.dir.metadata(client); m.IntrospectionAlg != "" && ts.keys.Current(m.IntrospectionAlg) != nil {
		alg = m.IntrospectionAlg
	}
	tok, err := ts.keys.Sign(alg, "token-introspection+jwt", introspectionJWTClaims{
		Iss: ts.settings.issuer, Aud: client.ID, Iat: ts.clock.Now().Unix(), TokenIntrospection: in,
	})
	if err != nil {
		return "", ErrServerError.Wrap(err)
	}
	return tok, nil
}

// Revoke serves token revocation (RFC 7009 §2.1) for an authenticated
// client. Revoking a refresh token revokes its whole grant, and with it the
// access tokens issued from it. An unknown token, or one issued to another
// client, is answered like a success (RFC 7009 §2.2) and left alone, so the
// endpoint cannot be used to probe for tokens. A DPoP proof is not
// required; one that is sent must be valid.
func (ts *tokenService) Revoke(ctx context.Context, cred ClientCredentials, token string, proof DPoPProof) error {
	client, _, err := ts.authenticateWithProof(ctx, cred, proof, ts.endpoints.revocation)
	if err != nil {
		return err
	}
	if token == "" {
		return ErrInvalidRequest.WithDescription("token is missing")
	}
	rec, _, err := ts.findToken(ctx, token)
	if errors.Is(err, ports.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.ClientID != client.ID {
		return nil
	}
	now := ts.clock.Now()
	revoked := ts.event(ctx, ports.EventTokenRevoked, rec.Subject, client.ID, map[string]string{"kind": rec.Kind, "grant_id": rec.GrantID})
	if rec.Kind == ports.TokenRefresh {
		err = ts.store.RevokeGrant(ctx, ts.settings.tenant, rec.GrantID, now, revoked)
	} else {
		err = ts.store.RevokeToken(ctx, ts.settings.tenant, rec.ID, now, revoked)
	}
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	return nil
}

// authenticateWithProof authenticates the client of a request to endpoint
// that may carry a DPoP proof, and validates and records the proof when
// there is one. proof is nil without one.
func (ts *tokenService) authenticateWithProof(ctx context.Context, cred ClientCredentials, d DPoPProof, endpoint string) (client *ports.Client, proof *dpop.Proof, err error) {
	if d.Present() {
		if proof, err = ts.checkDPoP(d, endpoint, ""); err != nil {
			return nil, nil, err
		}
	}
	if client, err = ts.clients.AuthenticateClient(ctx, cred); err != nil {
		return nil, nil, err
	}
	if proof != nil {
		if err := ts.useDPoP(ctx, proof); err != nil {
			return nil, nil, err
		}
	}
	return client, proof, nil
}
