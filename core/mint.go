package core

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// issueParams describes the tokens one grant is about to issue.
type issueParams struct {
	// grantType names the grant in the token.issued (or token.refreshed)
	// event stored with the tokens.
	grantType string
	client    *ports.Client
	grantID   string
	subject   string
	scope     string
	sessionID string
	authTime  *time.Time
	nonce     string
	// code is the authorization code redeemed, for the ID token's c_hash.
	code string
	// parentID is the refresh token being rotated.
	parentID  string
	noRefresh bool
	noIDToken bool
	// audiences of the access token; the configured audience when empty.
	audiences []string
	// resources are the RFC 8707 resources of the whole grant, kept on
	// its refresh token so a refresh can pick among them.
	resources []string
	// act names the actor of a delegated token (RFC 8693 §4.1).
	act *actClaim
	// jkt binds the tokens to a DPoP key (RFC 9449 §5): the access token
	// always, the refresh token of a public client; empty for bearer
	// tokens.
	jkt string
	// frontChannel marks an ID token returned from the authorization
	// endpoint, which carries no user claims (OIDC Core §5.4).
	frontChannel bool
	// details are the RFC 9396 authorization details of the access token,
	// canonical JSON; grantDetails those of the whole grant, kept on its
	// refresh token so a refresh can pick among them again.
	details, grantDetails string
}

// accessClaims are the claims of a JWT access token (RFC 9068 §2.2).
type accessClaims struct {
	Iss      string        `json:"iss"`
	Sub      string        `json:"sub"`
	Aud      audienceClaim `json:"aud"`
	Exp      int64         `json:"exp"`
	Iat      int64         `json:"iat"`
	Jti      string        `json:"jti"`
	ClientID string        `json:"client_id"`
	Scope    string        `json:"scope,omitempty"`
	AuthTime int64         `json:"auth_time,omitempty"`
	Sid      string        `json:"sid,omitempty"`
	Act      *actClaim     `json:"act,omitempty"`
	// Cnf binds a token to a DPoP key (RFC 9449 §6.1) or a client
	// certificate (RFC 8705 §3.1).
	Cnf *confirmation `json:"cnf,omitempty"`
	// AuthorizationDetails is RFC 9396 §9.1's claim.
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

// idTokenClaims are the claims of an ID token (OIDC Core §2).
type idTokenClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	AtHash   string `json:"at_hash,omitempty"`
	CHash    string `json:"c_hash,omitempty"`
	Sid      string `json:"sid,omitempty"`
	userClaims
}

// tokenSettings are what the tokens of one tenant look like: who issues
// them, for whom, for how long, signed with what. Config gives them; a
// tenant of its own may give others.
type tokenSettings struct {
	issuer, tenant                              string
	accessTokenTTL, refreshTokenTTL, idTokenTTL time.Duration
	accessTokenAlg, idTokenAlg                  string
	// accessTokenAudience is the aud of access tokens issued for no
	// resource in particular.
	accessTokenAudience string
}

func (c Config) tokenSettings() tokenSettings {
	return tokenSettings{
		issuer: c.Issuer, tenant: c.Tenant,
		accessTokenTTL: c.AccessTokenTTL, refreshTokenTTL: c.RefreshTokenTTL, idTokenTTL: c.IDTokenTTL,
		accessTokenAlg: c.AccessTokenAlg, idTokenAlg: c.IDTokenAlg, accessTokenAudience: c.AccessTokenAudience,
	}
}

// minter mints the tokens every grant issues, and the ID tokens of the
// authorization endpoint and the logout tokens: it signs, and builds the
// records and events that the grant stores.
type minter struct {
	settings tokenSettings
	keys     *keyset.Set
	clock    ports.Clock
	dir      *directory
	*eventSource
}

// persistFunc stores the records of issued tokens together with the event
// describing their issue, in one change of the store.
type persistFunc func(tokens []*ports.Token, evs []ports.Event) error

// tokenCreator stores the tokens of grants that only add tokens.
type tokenCreator interface {
	CreateTokens(ctx context.Context, tokens []*ports.Token, evs ...ports.Event) error
}

// createTokens is the persistFunc of grants that only add tokens.
func createTokens(ctx context.Context, store tokenCreator) persistFunc {
	return func(tokens []*ports.Token, evs []ports.Event) error {
		return store.CreateTokens(ctx, tokens, evs...)
	}
}

// issue mints the access token, the refresh token when the client may
// refresh, and the ID token when openid was granted; persist stores their
// records and their token.issued (token.refreshed for a refresh) event,
// in the same transaction as the grant's own change, before anything is
// handed out.
func (m *minter) issue(ctx context.Context, ip issueParams, persist persistFunc) (*TokenResponse, error) {
	now := m.clock.Now()
	c := ip.client
	accessExp := now.Add(m.settings.accessTokenTTL)
	aud := []string{m.settings.accessTokenAudience}
	if len(ip.audiences) > 0 {
		aud = ip.audiences
	}
	// RFC 8705 §3.1: bound to the client certificate of the request.
	x5t := certificateBinding(ctx, c)
	access := &ports.Token{
		Tenant: m.settings.tenant, Kind: ports.TokenAccess, GrantID: ip.grantID, ClientID: c.ID,
		Subject: ip.subject, Scope: ip.scope, Audience: joinAudience(aud),
		SessionID: ip.sessionID, AuthTime: ip.authTime, ParentID: ip.parentID,
		JKT: ip.jkt, X5TS256: x5t, AuthorizationDetails: ip.details, IssuedAt: now, ExpiresAt: accessExp,
	}
	var accessToken string
	if c.AccessTokenFormat == ports.TokenFormatOpaque {
		accessToken = secret.Random(32)
		access.ID = secret.Digest(accessToken)
	} else {
		access.ID = secret.OrderedID(now)
		claims := accessClaims{
			Iss: m.settings.issuer, Sub: ip.subject, Aud: aud,
			Exp: accessExp.Unix(), Iat: now.Unix(), Jti: access.ID, ClientID: c.ID,
			Scope: ip.scope, Sid: SessionSID(ip.sessionID), Act: ip.act, Cnf: confirmationOf(ip.jkt, x5t),
			AuthorizationDetails: rawDetails(ip.details),
		}
		if ip.authTime != nil {
			claims.AuthTime = ip.authTime.Unix()
		}
		var err error
		// RFC 9068 §2.1: typ at+jwt tells access tokens from ID tokens.
		if accessToken, err = m.keys.Sign(m.settings.accessTokenAlg, "at+jwt", claims); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
	}
	records := []*ports.Token{access}
	resp := &TokenResponse{
		AccessToken: accessToken, TokenType: TokenTypeBearer,
		ExpiresIn: int64(m.settings.accessTokenTTL / time.Second), Scope: ip.scope,
		AuthorizationDetails: rawDetails(ip.details),
	}
	if ip.jkt != "" {
		// RFC 9449 §5: a DPoP-bound access token has token_type DPoP.
		resp.TokenType = TokenTypeDPoP
	}
	if !ip.noRefresh && c.HasGrantType(GrantRefreshToken) {
		rt := secret.Random(32)
		refresh := &ports.Token{
			ID: secret.Digest(rt), Tenant: m.settings.tenant, Kind: ports.TokenRefresh,
			GrantID: ip.grantID, ClientID: c.ID, Subject: ip.subject, Scope: ip.scope,
			Audience: joinAudience(ip.resources), SessionID: ip.sessionID, AuthTime: ip.authTime, ParentID: ip.parentID,
			AuthorizationDetails: ip.grantDetails, IssuedAt: now, ExpiresAt: now.Add(m.settings.refreshTokenTTL),
		}
		// RFC 9449 §5, RFC 8705 §4: a public client's refresh token is
		// bound to its DPoP key or certificate; a confidential client's is
		// already bound to the client's credentials.
		if c.Public() {
			refresh.JKT, refresh.X5TS256 = ip.jkt, x5t
		}
		records = append(records, refresh)
		resp.RefreshToken = rt
	}
	if hasScope(ip.scope, ScopeOpenID) && !ip.noIDToken {
		idt, err := m.idToken(ctx, ip, accessToken, now)
		if err != nil {
			return nil, err
		}
		resp.IDToken = idt
	}
	typ := ports.EventTokenIssued
	if ip.grantType == GrantRefreshToken {
		typ = ports.EventTokenRefreshed
	}
	ev := m.event(ctx, typ, ip.subject, c.ID, map[string]string{"grant_type": ip.grantType, "grant_id": ip.grantID, "scope": ip.scope})
	if err := persist(records, []ports.Event{ev}); err != nil {
		if errors.Is(err, ports.ErrAlreadyUsed) || errors.Is(err, ports.ErrNotFound) {
			return nil, err
		}
		return nil, ErrServerError.Wrap(err)
	}
	return resp, nil
}

func (m *minter) idToken(ctx context.Context, ip issueParams, accessToken string, now time.Time) (string, error) {
	alg := m.idTokenAlg(ip.client)
	user, err := m.dir.user(ctx, ip.subject)
	if errors.Is(err, ports.ErrNotFound) {
		return "", ErrInvalidGrant.WithDescription("the user of this grant no longer exists")
	}
	if err != nil {
		return "", ErrServerError.Wrap(err)
	}
	claims := idTokenClaims{
		Iss: m.settings.issuer, Sub: ip.subject, Aud: ip.client.ID,
		Exp: now.Add(m.settings.idTokenTTL).Unix(), Iat: now.Unix(),
		Nonce: ip.nonce, Sid: SessionSID(ip.sessionID),
	}
	if accessToken != "" {
		claims.AtHash = halfHash(alg, accessToken)
	}
	if !ip.frontChannel {
		claims.userClaims = claimsFor(user, ip.scope)
	}
	if ip.authTime != nil {
		claims.AuthTime = ip.authTime.Unix()
	}
	if ip.code != "" {
		claims.CHash = halfHash(alg, ip.code)
	}
	tok, err := m.keys.Sign(alg, "JWT", claims)
	if err != nil {
		return "", ErrServerError.Wrap(err)
	}
	return tok, nil
}

// SessionSID is the sid claim (OIDC Front- and Back-Channel Logout) of a
// login session: derived from the session id, so tokens never carry the
// value the browser's cookie holds.
func SessionSID(sessionID string) string {
	if sessionID == "" {
		return ""
	}
	return secret.Digest("sid|" + sessionID)[:22]
}

// idTokenAlg is the client's registered id_token_signed_response_alg, or
// the server's default.
func (m *minter) idTokenAlg(c *ports.Client) string {
	if alg := m.dir.metadata(c).IDTokenSignedResponseAlg; alg != "" && m.keys.Current(alg) != nil {
		return alg
	}
	return m.settings.idTokenAlg
}

// halfHash computes at_hash / c_hash (OIDC Core §3.1.3.6): the left half of
// the hash of the value, with the hash that goes with the signing algorithm
// (SHA-512 for EdDSA over Ed25519).
func halfHash(alg, value string) string {
	var sum []byte
	if alg == keyset.EdDSA {
		s := sha512.Sum512([]byte(value))
		sum = s[:]
	} else {
		s := sha256.Sum256([]byte(value))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
