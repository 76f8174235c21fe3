package core

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// clientMetadata is the registration metadata (RFC 7591 §2, OIDC
// Registration §2) the server acts on. Other members are kept as sent.
type clientMetadata struct {
	RedirectURIs             []string        `json:"redirect_uris"`
	TokenEndpointAuthMethod  string          `json:"token_endpoint_auth_method"`
	GrantTypes               []string        `json:"grant_types"`
	ResponseTypes            []string        `json:"response_types"`
	ClientName               string          `json:"client_name"`
	Scope                    string          `json:"scope"`
	ApplicationType          string          `json:"application_type"`
	IDTokenSignedResponseAlg string          `json:"id_token_signed_response_alg"`
	AccessTokenFormat        string          `json:"access_token_format"`
	JWKS                     json.RawMessage `json:"jwks"`
	JWKSURI                  string          `json:"jwks_uri"`
}

// maxMetadataSize caps a registration document.
const maxMetadataSize = 64 << 10

// RegisterClient serves dynamic client registration (RFC 7591 §3) for a
// caller presenting initialToken, and returns the registration response.
func (p *Provider) RegisterClient(ctx context.Context, initialToken string, body []byte) (map[string]any, error) {
	if !p.RegistrationEnabled() {
		return nil, ErrAccessDenied.WithDescription("dynamic client registration is disabled")
	}
	// RFC 7591 §3: the initial access token guards the endpoint.
	if subtle.ConstantTimeCompare([]byte(initialToken), []byte(p.cfg.RegistrationToken)) != 1 {
		return nil, ErrInvalidToken.WithDescription("a valid initial access token is required")
	}
	clientSecret := secret.Random(32)
	regToken := secret.Random(32)
	c, err := p.buildClient(body)
	if err != nil {
		return nil, err
	}
	c.ID = secret.Random(16)
	c.RegistrationTokenHash = p.secrets.Hash(regToken)
	if !c.Public() {
		c.SecretHash = p.secrets.Hash(clientSecret)
	}
	if err := p.store.CreateClient(ctx, c); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	resp, err := p.registrationResponse(c)
	if err != nil {
		return nil, err
	}
	if !c.Public() {
		resp["client_secret"] = clientSecret
		// RFC 7591 §3.2.1: 0 means the secret does not expire.
		resp["client_secret_expires_at"] = 0
	}
	resp["registration_access_token"] = regToken
	return resp, nil
}

// ReadClientRegistration serves an RFC 7592 §2.1 read.
func (p *Provider) ReadClientRegistration(ctx context.Context, clientID, regToken string) (map[string]any, error) {
	c, err := p.store.GetClient(ctx, p.cfg.Tenant, clientID)
	// RFC 7592 §2.1: an unknown client and a wrong token look the same.
	if errors.Is(err, ports.ErrNotFound) || err == nil && (c.RegistrationTokenHash == "" || !p.secrets.Verify(c.RegistrationTokenHash, regToken)) {
		return nil, ErrInvalidToken.WithDescription("the registration access token is not valid for this client")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	return p.registrationResponse(c)
}

// RegistrationEnabled reports whether /oauth/register accepts requests.
func (p *Provider) RegistrationEnabled() bool { return p.cfg.RegistrationToken != "" }

// EnsureClient creates the client id with the given secret and metadata,
// or replaces an existing one's, for clients the operator seeds at start.
// clientSecret is ignored for public clients.
func (p *Provider) EnsureClient(ctx context.Context, id, clientSecret string, metadata []byte) (*ports.Client, error) {
	c, err := p.buildClient(metadata)
	if err != nil {
		return nil, err
	}
	c.ID = id
	if !c.Public() {
		c.SecretHash = p.secrets.Hash(clientSecret)
	}
	existing, err := p.store.GetClient(ctx, p.cfg.Tenant, id)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return c, p.store.CreateClient(ctx, c)
	case err != nil:
		return nil, err
	}
	c.CreatedAt = existing.CreatedAt
	c.RegistrationTokenHash = existing.RegistrationTokenHash
	return c, p.store.UpdateClient(ctx, c)
}

// Client returns a registered client.
func (p *Provider) Client(ctx context.Context, id string) (*ports.Client, error) {
	return p.store.GetClient(ctx, p.cfg.Tenant, id)
}

// buildClient validates registration metadata and returns the client it
// describes, with defaults applied (RFC 7591 §2).
func (p *Provider) buildClient(body []byte) (*ports.Client, error) {
	bad := func(d string) error { return ErrInvalidClientMetadata.WithDescription(d) }
	if len(body) > maxMetadataSize {
		return nil, bad("the registration document is too large")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, bad("the registration document must be a JSON object")
	}
	var m clientMetadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, bad("a metadata value has the wrong type: " + jsonFieldError(err))
	}

	if m.TokenEndpointAuthMethod == "" {
		m.TokenEndpointAuthMethod = ports.AuthMethodSecretBasic
	}
	switch m.TokenEndpointAuthMethod {
	case ports.AuthMethodSecretBasic, ports.AuthMethodSecretPost, ports.AuthMethodNone:
	default:
		return nil, bad("token_endpoint_auth_method " + m.TokenEndpointAuthMethod + " is not supported")
	}
	if _, given := raw["grant_types"]; !given {
		m.GrantTypes = []string{GrantAuthorizationCode}
	}
	for _, gt := range m.GrantTypes {
		if !slices.Contains(p.GrantTypes(), gt) {
			return nil, bad("grant_type " + gt + " is not supported")
		}
	}
	usesCode := slices.Contains(m.GrantTypes, GrantAuthorizationCode)
	if _, given := raw["response_types"]; !given && usesCode {
		m.ResponseTypes = []string{"code"}
	}
	for _, rt := range m.ResponseTypes {
		if rt != "code" {
			return nil, bad("response_type " + rt + " is not supported")
		}
	}
	// RFC 7591 §2.1: response_type code goes with the authorization_code
	// grant.
	if slices.Contains(m.ResponseTypes, "code") != usesCode {
		return nil, bad("response_types code and grant_types authorization_code go together")
	}
	if slices.Contains(m.GrantTypes, GrantRefreshToken) && !usesCode {
		return nil, bad("the refresh_token grant needs the authorization_code grant")
	}
	if m.TokenEndpointAuthMethod == ports.AuthMethodNone && slices.Contains(m.GrantTypes, GrantClientCredentials) {
		return nil, bad("public clients cannot use client_credentials")
	}
	if m.ApplicationType == "" {
		m.ApplicationType = "web"
	}
	if m.ApplicationType != "web" && m.ApplicationType != "native" {
		return nil, bad("application_type must be web or native")
	}
	if usesCode && len(m.RedirectURIs) == 0 {
		return nil, ErrInvalidRedirectURI.WithDescription("redirect_uris are required for the authorization_code grant")
	}
	for _, u := range m.RedirectURIs {
		if err := checkRedirectURI(u, m.ApplicationType); err != "" {
			return nil, ErrInvalidRedirectURI.WithDescription(err)
		}
	}
	scopes, ok := ParseScope(m.Scope)
	if !ok {
		return nil, bad("scope has invalid characters")
	}
	if _, given := raw["scope"]; !given && usesCode {
		scopes = slices.Clone(StandardScopes)
		if len(p.cfg.ScopeAllowList) > 0 {
			scopes = slices.DeleteFunc(scopes, func(s string) bool { return !slices.Contains(p.cfg.ScopeAllowList, s) })
		}
	}
	if len(p.cfg.ScopeAllowList) > 0 {
		for _, s := range scopes {
			if !slices.Contains(p.cfg.ScopeAllowList, s) {
				return nil, bad("scope " + s + " is not allowed on this server")
			}
		}
	}
	if m.IDTokenSignedResponseAlg != "" && !slices.Contains(keyset.Algorithms, m.IDTokenSignedResponseAlg) {
		return nil, bad("id_token_signed_response_alg " + m.IDTokenSignedResponseAlg + " is not supported")
	}
	switch m.AccessTokenFormat {
	case "":
		m.AccessTokenFormat = ports.TokenFormatJWT
	case ports.TokenFormatJWT, ports.TokenFormatOpaque:
	default:
		return nil, bad("access_token_format must be jwt or opaque")
	}
	// RFC 7591 §2: jwks and jwks_uri must not both be present.
	if len(m.JWKS) > 0 && !bytes.Equal(m.JWKS, []byte("null")) && m.JWKSURI != "" {
		return nil, bad("jwks and jwks_uri are mutually exclusive")
	}

	// Keep every member as sent, with the defaults written in, so a read
	// returns what the server applies.
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		raw[k] = b
	}
	set("redirect_uris", nonNil(m.RedirectURIs))
	set("token_endpoint_auth_method", m.TokenEndpointAuthMethod)
	set("grant_types", nonNil(m.GrantTypes))
	set("response_types", nonNil(m.ResponseTypes))
	set("application_type", m.ApplicationType)
	set("scope", JoinScope(scopes))
	set("access_token_format", m.AccessTokenFormat)
	for _, k := range []string{"client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at",
		"registration_access_token", "registration_client_uri"} {
		delete(raw, k)
	}
	meta, _ := json.Marshal(raw)
	now := p.clock.Now()
	return &ports.Client{
		Tenant: p.cfg.Tenant, Name: m.ClientName, RedirectURIs: m.RedirectURIs,
		GrantTypes: m.GrantTypes, ResponseTypes: m.ResponseTypes, Scope: JoinScope(scopes),
		TokenEndpointAuth: m.TokenEndpointAuthMethod, ApplicationType: m.ApplicationType,
		AccessTokenFormat: m.AccessTokenFormat, Metadata: meta, CreatedAt: now, UpdatedAt: now,
	}, nil
}

func (p *Provider) registrationResponse(c *ports.Client) (map[string]any, error) {
	resp := map[string]any{}
	if len(c.Metadata) > 0 {
		if err := json.Unmarshal(c.Metadata, &resp); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
	}
	resp["client_id"] = c.ID
	resp["client_id_issued_at"] = c.CreatedAt.Unix()
	resp["registration_client_uri"] = p.RegistrationEndpoint() + "/" + url.PathEscape(c.ID)
	return resp, nil
}

// checkRedirectURI applies RFC 6749 §3.1.2 and RFC 8252 §7 to a redirect
// URI being registered and returns what is wrong, or "".
func checkRedirectURI(raw, appType string) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return "redirect URI " + raw + " is not an absolute URI"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "redirect URI " + raw + " must not contain a fragment"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "redirect URI " + raw + " has no host"
		}
		return ""
	case "http":
		host := u.Hostname()
		if host == "localhost" || isLoopbackIP(host) {
			return ""
		}
		return "redirect URI " + raw + " must use https unless it points to the loopback interface"
	case "javascript", "data", "vbscript", "file":
		return "redirect URI scheme " + u.Scheme + " is not allowed"
	}
	// RFC 8252 §7.1: private-use schemes are for native apps.
	if appType != "native" {
		return "redirect URI " + raw + " uses a private scheme; register the client with application_type native"
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func jsonFieldError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return "malformed JSON"
}
