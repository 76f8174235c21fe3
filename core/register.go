package core

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// clientMetadata is the registration metadata (RFC 7591 §2, OIDC
// Registration §2) the server acts on. Other members are kept as sent.
type clientMetadata struct {
	RedirectURIs             []string `json:"redirect_uris"`
	TokenEndpointAuthMethod  string   `json:"token_endpoint_auth_method"`
	GrantTypes               []string `json:"grant_types"`
	ResponseTypes            []string `json:"response_types"`
	ClientName               string   `json:"client_name"`
	Scope                    string   `json:"scope"`
	ApplicationType          string   `json:"application_type"`
	IDTokenSignedResponseAlg string   `json:"id_token_signed_response_alg"`
	AccessTokenFormat        string   `json:"access_token_format"`
	IntrospectionAlg         string   `json:"introspection_signed_response_alg"`
	ResourceServer           bool     `json:"resource_server"`
	ResourceURIs             []string `json:"resource_uris"`
	AllowedResources         []string `json:"allowed_resources"`
	RequirePAR               bool     `json:"require_pushed_authorization_requests"`
	RequestObjectAlg         string   `json:"request_object_signing_alg"`
	RequestURIs              []string `json:"request_uris"`
	PostLogoutRedirectURIs   []string `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI     string   `json:"backchannel_logout_uri"`
	FrontchannelLogoutURI    string   `json:"frontchannel_logout_uri"`
	// DPoPBoundAccessTokens makes DPoP proofs mandatory at the token
	// endpoint for the client (RFC 9449 §5.2).
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens"`

	// JARM §4: how authorization responses are signed, and encrypted,
	// which this server does not do.
	AuthorizationSignedAlg    string `json:"authorization_signed_response_alg"`
	AuthorizationEncryptedAlg string `json:"authorization_encrypted_response_alg"`
	AuthorizationEncryptedEnc string `json:"authorization_encrypted_response_enc"`

	// CIBA §4 client metadata.
	BackchannelTokenDeliveryMode          string `json:"backchannel_token_delivery_mode"`
	BackchannelClientNotificationEndpoint string `json:"backchannel_client_notification_endpoint"`
	BackchannelAuthRequestSigningAlg      string `json:"backchannel_authentication_request_signing_alg"`
	BackchannelUserCodeParameter          bool   `json:"backchannel_user_code_parameter"`

	// AuthorizationDetailsTypes limits the RFC 9396 types the client may
	// ask for (§10); nil when it registered none, which allows every type
	// the server accepts.
	AuthorizationDetailsTypes []string `json:"authorization_details_types"`
	clientKeysMetadata
}

// registeredMetadata decodes the registration metadata the server acts on from a
// stored client. Stored metadata passed validation at registration, so a
// member that fails to decode reads as unset.
func registeredMetadata(c *ports.Client) clientMetadata {
	var m clientMetadata
	if len(c.Metadata) > 0 {
		_ = json.Unmarshal(c.Metadata, &m)
	}
	return m
}

// maxMetadataSize caps a registration document.
const maxMetadataSize = 64 << 10

// RegisterClient serves dynamic client registration (RFC 7591 §3) for a
// caller presenting initialToken, and returns the registration response.
func (cs *clientService) RegisterClient(ctx context.Context, initialToken string, body []byte) (map[string]any, error) {
	if !cs.RegistrationEnabled() {
		return nil, ErrAccessDenied.WithDescription("dynamic client registration is disabled")
	}
	// RFC 7591 §3: the initial access token guards the endpoint.
	if subtle.ConstantTimeCompare([]byte(initialToken), []byte(cs.settings.registrationToken)) != 1 {
		return nil, ErrInvalidToken.WithDescription("a valid initial access token is required")
	}
	clientSecret := secret.Random(32)
	regToken := secret.Random(32)
	c, err := cs.buildClient(body)
	if err != nil {
		return nil, err
	}
	c.ID = secret.Random(16)
	c.RegistrationTokenHash = cs.secrets.Hash(regToken)
	if err := cs.setSecret(c, clientSecret); err != nil {
		return nil, err
	}
	registered := cs.event(ctx, ports.EventClientRegistered, "", c.ID, map[string]string{"auth_method": c.TokenEndpointAuth})
	if err := cs.store.CreateClient(ctx, c, registered); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	resp, err := cs.registrationResponse(c)
	if err != nil {
		return nil, err
	}
	if usesSecret(c) {
		resp["client_secret"] = clientSecret
		// RFC 7591 §3.2.1: 0 means the secret does not expire.
		resp["client_secret_expires_at"] = 0
	}
	resp["registration_access_token"] = regToken
	return resp, nil
}

// ReadClientRegistration serves an RFC 7592 §2.1 read.
func (cs *clientService) ReadClientRegistration(ctx context.Context, clientID, regToken string) (map[string]any, error) {
	c, err := cs.registeredClient(ctx, clientID, regToken)
	if err != nil {
		return nil, err
	}
	return cs.registrationResponse(c)
}

// UpdateClientRegistration serves an RFC 7592 §2.2 update: the document
// replaces the client's metadata as a whole and is validated like a new
// registration. The client keeps its id, secret and registration token; a
// client that turns confidential receives a new secret in the response.
func (cs *clientService) UpdateClientRegistration(ctx context.Context, clientID, regToken string, body []byte) (map[string]any, error) {
	old, err := cs.registeredClient(ctx, clientID, regToken)
	if err != nil {
		return nil, err
	}
	var ids struct {
		ClientID     *string `json:"client_id"`
		ClientSecret *string `json:"client_secret"`
	}
	if err := json.Unmarshal(body, &ids); err != nil {
		return nil, ErrInvalidClientMetadata.WithDescription("the registration document must be a JSON object")
	}
	// RFC 7592 §2.2: the request repeats the client_id, and a client_secret
	// it carries must be the current one.
	if ids.ClientID == nil || *ids.ClientID != clientID {
		return nil, ErrInvalidRequest.WithDescription("client_id must be present and match the client being updated")
	}
	if ids.ClientSecret != nil && (old.SecretHash == "" || !cs.secrets.Verify(old.SecretHash, *ids.ClientSecret)) {
		return nil, ErrInvalidClientMetadata.WithDescription("client_secret does not match the client's secret")
	}
	c, err := cs.buildClient(body)
	if err != nil {
		return nil, err
	}
	c.ID, c.RegistrationTokenHash, c.CreatedAt = old.ID, old.RegistrationTokenHash, old.CreatedAt
	var newSecret string
	switch {
	case !usesSecret(c):
	case old.SecretHash != "" && (c.TokenEndpointAuth != AuthMethodSecretJWT || len(old.SecretSealed) > 0):
		c.SecretHash, c.SecretSealed = old.SecretHash, old.SecretSealed
	default:
		// The client turns confidential, or needs its secret readable for
		// client_secret_jwt: it gets a new one.
		newSecret = secret.Random(32)
		if err := cs.setSecret(c, newSecret); err != nil {
			return nil, err
		}
	}
	if err := cs.store.UpdateClient(ctx, c, cs.event(ctx, ports.EventClientUpdated, "", c.ID, nil)); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	resp, err := cs.registrationResponse(c)
	if err != nil {
		return nil, err
	}
	if newSecret != "" {
		resp["client_secret"] = newSecret
		resp["client_secret_expires_at"] = 0
	}
	return resp, nil
}

// DeleteClientRegistration serves an RFC 7592 §2.3 delete. The client's
// credentials stop working at once, its registration access token is gone
// with it, and every token issued to it is revoked.
func (cs *clientService) DeleteClientRegistration(ctx context.Context, clientID, regToken string) error {
	if _, err := cs.registeredClient(ctx, clientID, regToken); err != nil {
		return err
	}
	return cs.deleteClient(ctx, clientID)
}

// DeleteClient deletes a client for the operator, as an RFC 7592 delete
// does: its credentials stop working and every token issued to it is
// revoked. A 404 invalid_request "no such client" when there is no such
// client.
func (cs *clientService) DeleteClient(ctx context.Context, clientID string) error {
	if _, err := cs.store.GetClient(ctx, cs.settings.tenant, clientID); err != nil {
		return clientLookupError(err)
	}
	return cs.deleteClient(ctx, clientID)
}

// Clients returns the registered clients ordered by id, the part of them
// page selects.
func (cs *clientService) Clients(ctx context.Context, page ports.Page) ([]*ports.Client, error) {
	clients, err := cs.store.ListClients(ctx, cs.settings.tenant, page)
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	return clients, nil
}

func (cs *clientService) deleteClient(ctx context.Context, clientID string) error {
	deleted := cs.event(ctx, ports.EventClientDeleted, "", clientID, nil)
	err := cs.store.DeleteClient(ctx, cs.settings.tenant, clientID, deleted)
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		return ErrServerError.Wrap(err)
	}
	// RFC 7592 §2.3: the client's grants and tokens end with it.
	if _, err := cs.store.RevokeClientTokens(ctx, cs.settings.tenant, clientID, cs.clock.Now()); err != nil {
		return ErrServerError.Wrap(err)
	}
	// Another replica may still authenticate the client from its cache
	// for up to clientCacheTTL; what it issues then is revoked once the
	// caches have let the client go, or at once if this server shuts
	// down first.
	cs.background.Go(func() {
		pause(2*clientCacheTTL, cs.background.shutdown)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = cs.store.RevokeClientTokens(rctx, cs.settings.tenant, clientID, cs.clock.Now())
	})
	return nil
}

// registeredClient authenticates an RFC 7592 request by its registration
// access token.
func (cs *clientService) registeredClient(ctx context.Context, clientID, regToken string) (*ports.Client, error) {
	c, err := cs.store.GetClient(ctx, cs.settings.tenant, clientID)
	// RFC 7592 §2.1: an unknown client and a wrong token look the same.
	if errors.Is(err, ports.ErrNotFound) || err == nil && (c.RegistrationTokenHash == "" || !cs.secrets.Verify(c.RegistrationTokenHash, regToken)) {
		return nil, ErrInvalidToken.WithDescription("the registration access token is not valid for this client")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	return c, nil
}

// RegistrationEnabled reports whether /oauth/register accepts requests.
func (cs *clientService) RegistrationEnabled() bool { return cs.settings.registrationToken != "" }

// EnsureClient creates the client id with the given secret and metadata,
// or replaces an existing one's, for clients the operator seeds at start.
// clientSecret is ignored for public clients.
func (cs *clientService) EnsureClient(ctx context.Context, id, clientSecret string, metadata []byte) (*ports.Client, error) {
	c, err := cs.buildClient(metadata)
	if err != nil {
		return nil, err
	}
	c.ID = id
	if err := cs.setSecret(c, clientSecret); err != nil {
		return nil, err
	}
	existing, err := cs.store.GetClient(ctx, cs.settings.tenant, id)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return c, cs.store.CreateClient(ctx, c)
	case err != nil:
		return nil, err
	}
	c.CreatedAt = existing.CreatedAt
	c.RegistrationTokenHash = existing.RegistrationTokenHash
	return c, cs.store.UpdateClient(ctx, c)
}

// Client returns a registered client for the operator; a 404
// invalid_request "no such client" when there is none.
func (cs *clientService) Client(ctx context.Context, id string) (*ports.Client, error) {
	c, err := cs.store.GetClient(ctx, cs.settings.tenant, id)
	if err != nil {
		return nil, clientLookupError(err)
	}
	return c, nil
}

// errNoSuchClient answers the operator naming a client that does not exist.
var errNoSuchClient = &Error{Code: "invalid_request", Description: "no such client", Status: http.StatusNotFound}

// clientLookupError is the protocol error of a failed lookup of a client
// the operator named.
func clientLookupError(err error) *Error {
	if errors.Is(err, ports.ErrNotFound) {
		return errNoSuchClient.Wrap(err)
	}
	return ErrServerError.Wrap(err)
}

// buildClient validates registration metadata and returns the client it
// describes, with defaults applied (RFC 7591 §2).
func (cs *clientService) buildClient(body []byte) (*ports.Client, error) {
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
	case ports.AuthMethodSecretBasic, ports.AuthMethodSecretPost, ports.AuthMethodNone, AuthMethodPrivateKeyJWT:
	case AuthMethodSecretJWT:
		if cs.sealer == nil {
			return nil, bad("token_endpoint_auth_method client_secret_jwt is not supported")
		}
	case AuthMethodTLSClient, AuthMethodSelfSignedTLSClient:
		if !slices.Contains(cs.certificateAuthMethods(), m.TokenEndpointAuthMethod) {
			return nil, bad("token_endpoint_auth_method " + m.TokenEndpointAuthMethod + " is not supported on this server")
		}
	default:
		return nil, bad("token_endpoint_auth_method " + m.TokenEndpointAuthMethod + " is not supported")
	}
	if _, given := raw["grant_types"]; !given {
		m.GrantTypes = []string{GrantAuthorizationCode}
	}
	for _, gt := range m.GrantTypes {
		if !slices.Contains(cs.server.GrantTypes(), gt) && gt != GrantImplicit {
			return nil, bad("grant_type " + gt + " is not supported")
		}
	}
	usesCode := slices.Contains(m.GrantTypes, GrantAuthorizationCode)
	if m.TokenEndpointAuthMethod == ports.AuthMethodNone && slices.Contains(m.GrantTypes, GrantTokenExchange) {
		return nil, bad("public clients cannot use token exchange")
	}
	if _, given := raw["response_types"]; !given && usesCode {
		m.ResponseTypes = []string{ResponseTypeCode}
	}
	var responseTypes []string
	frontChannel := false
	for _, rt := range m.ResponseTypes {
		canonical, known := canonicalResponseType(rt)
		if !known || !slices.Contains(ResponseTypes, canonical) {
			return nil, bad("response_type " + rt + " is not supported; use " + strings.Join(ResponseTypes, ", "))
		}
		if !slices.Contains(responseTypes, canonical) {
			responseTypes = append(responseTypes, canonical)
		}
		frontChannel = frontChannel || canonical != ResponseTypeCode
	}
	m.ResponseTypes = responseTypes
	// RFC 7591 §2.1: response types containing code go with the
	// authorization_code grant, and every supported one contains code.
	if (len(m.ResponseTypes) > 0) != usesCode {
		return nil, bad("response_types code and grant_types authorization_code go together")
	}
	// OIDC Registration §2: response types that return tokens from the
	// authorization endpoint go with the implicit grant type, which means
	// nothing else here.
	if frontChannel != slices.Contains(m.GrantTypes, GrantImplicit) {
		return nil, bad("grant_types implicit goes with the response_types " + strings.Join(ResponseTypes[1:], ", ") + ", and only with them")
	}
	// Grants that act for a signed-in user: they may refresh, and default
	// to the standard scopes.
	forUser := usesCode || slices.Contains(m.GrantTypes, GrantDeviceCode) || slices.Contains(m.GrantTypes, GrantCIBA)
	if slices.Contains(m.GrantTypes, GrantRefreshToken) && !forUser {
		return nil, bad("the refresh_token grant needs the authorization_code, the device or the CIBA grant")
	}
	if e := cs.server.checkCIBAMetadata(m); e != "" {
		return nil, bad(e)
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
	for _, u := range m.PostLogoutRedirectURIs {
		if err := checkRedirectURI(u, m.ApplicationType); err != "" {
			return nil, bad("post_logout_redirect_uris: " + err)
		}
	}
	for name, u := range map[string]string{"backchannel_logout_uri": m.BackchannelLogoutURI, "frontchannel_logout_uri": m.FrontchannelLogoutURI} {
		if u == "" {
			continue
		}
		// OIDC Back-Channel Logout §2.2 and Front-Channel Logout §2: an
		// absolute http(s) URI without a fragment.
		if err := checkRedirectURI(u, "web"); err != "" {
			return nil, bad(name + ": " + err)
		}
	}
	if e := cs.server.checkCalledURL("backchannel_logout_uri", m.BackchannelLogoutURI); e != "" {
		return nil, bad(e)
	}
	scopes, ok := ParseScope(m.Scope)
	if !ok {
		return nil, bad("scope has invalid characters")
	}
	if _, given := raw["scope"]; !given && forUser {
		scopes = slices.Clone(StandardScopes)
		if len(cs.settings.scopeAllowList) > 0 {
			scopes = slices.DeleteFunc(scopes, func(s string) bool { return !slices.Contains(cs.settings.scopeAllowList, s) })
		}
	}
	if len(cs.settings.scopeAllowList) > 0 {
		for _, s := range scopes {
			if !slices.Contains(cs.settings.scopeAllowList, s) {
				return nil, bad("scope " + s + " is not allowed on this server")
			}
		}
	}
	if m.IDTokenSignedResponseAlg != "" && !slices.Contains(keyset.Algorithms, m.IDTokenSignedResponseAlg) {
		return nil, bad("id_token_signed_response_alg " + m.IDTokenSignedResponseAlg + " is not supported")
	}
	if m.IntrospectionAlg != "" && !slices.Contains(keyset.Algorithms, m.IntrospectionAlg) {
		return nil, bad("introspection_signed_response_alg " + m.IntrospectionAlg + " is not supported")
	}
	for _, u := range append(slices.Clone(m.ResourceURIs), m.AllowedResources...) {
		if pu, err := url.Parse(u); err != nil || !pu.IsAbs() || pu.Fragment != "" {
			// RFC 8707 §2: resource indicators are absolute URIs without a
			// fragment.
			return nil, bad("resource_uris and allowed_resources must be absolute URIs without a fragment")
		}
	}
	switch m.AccessTokenFormat {
	case "":
		m.AccessTokenFormat = ports.TokenFormatJWT
	case ports.TokenFormatJWT, ports.TokenFormatOpaque:
	default:
		return nil, bad("access_token_format must be jwt or opaque")
	}
	if rawPolicy, ok := raw["token_exchange"]; ok {
		var pol tokenExchangePolicy
		if err := json.Unmarshal(rawPolicy, &pol); err != nil {
			return nil, bad("token_exchange must be an object with audiences (strings) and impersonation (boolean)")
		}
		if slices.Contains(pol.Audiences, "") {
			return nil, bad("token_exchange audiences must not be empty strings")
		}
	}
	// RFC 7591 §2: jwks and jwks_uri must not both be present.
	hasJWKS := len(m.JWKS) > 0 && !bytes.Equal(m.JWKS, []byte("null"))
	if hasJWKS && m.JWKSURI != "" {
		return nil, bad("jwks and jwks_uri are mutually exclusive")
	}
	if hasJWKS {
		if _, err := parseClientJWKS(m.JWKS); err != nil {
			return nil, bad(err.Error())
		}
	}
	if m.JWKSURI != "" {
		if u, err := url.Parse(m.JWKSURI); err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" {
			return nil, bad("jwks_uri must be an https URL")
		}
		if e := cs.server.checkCalledURL("jwks_uri", m.JWKSURI); e != "" {
			return nil, bad(e)
		}
	}
	if m.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT && !hasJWKS && m.JWKSURI == "" {
		return nil, bad("private_key_jwt needs jwks or jwks_uri")
	}
	for _, t := range m.AuthorizationDetailsTypes {
		// RFC 9396 §10: the client's types are among those the server
		// supports.
		if !slices.Contains(cs.settings.authorizationDetailsTypes, t) {
			return nil, bad("authorization_details_types: " + strconv.Quote(t) + " is not supported on this server")
		}
	}
	if err := cs.checkCertificateMetadata(m.TokenEndpointAuthMethod, raw, hasJWKS || m.JWKSURI != ""); err != nil {
		return nil, err
	}
	if m.RequestObjectAlg != "" && !slices.Contains(assertionAlgs, m.RequestObjectAlg) {
		return nil, bad("request_object_signing_alg " + m.RequestObjectAlg + " is not supported")
	}
	// JARM §4: none is never allowed; the server signs with its own keys.
	if m.AuthorizationSignedAlg != "" && !slices.Contains(keyset.Algorithms, m.AuthorizationSignedAlg) {
		return nil, bad("authorization_signed_response_alg " + m.AuthorizationSignedAlg + " is not supported; use one of " + strings.Join(keyset.Algorithms, ", "))
	}
	if m.AuthorizationEncryptedAlg != "" || m.AuthorizationEncryptedEnc != "" {
		return nil, bad("encrypted authorization responses are not supported: remove authorization_encrypted_response_alg and authorization_encrypted_response_enc")
	}
	if err := cs.server.checkRequestURIs(m.RequestURIs); err != "" {
		return nil, bad(err)
	}
	algs := assertionAlgs
	if m.TokenEndpointAuthMethod == AuthMethodSecretJWT {
		algs = secretAssertionAlgs
	}
	if m.SigningAlg != "" && !slices.Contains(algs, m.SigningAlg) {
		return nil, bad("token_endpoint_auth_signing_alg " + m.SigningAlg + " is not supported")
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
	now := cs.clock.Now()
	return &ports.Client{
		Tenant: cs.settings.tenant, Name: m.ClientName, RedirectURIs: m.RedirectURIs,
		GrantTypes: m.GrantTypes, ResponseTypes: m.ResponseTypes, Scope: JoinScope(scopes),
		TokenEndpointAuth: m.TokenEndpointAuthMethod, ApplicationType: m.ApplicationType,
		AccessTokenFormat: m.AccessTokenFormat, Metadata: meta, CreatedAt: now, UpdatedAt: now,
	}, nil
}

func (cs *clientService) registrationResponse(c *ports.Client) (map[string]any, error) {
	resp := map[string]any{}
	if len(c.Metadata) > 0 {
		if err := json.Unmarshal(c.Metadata, &resp); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
	}
	resp["client_id"] = c.ID
	resp["client_id_issued_at"] = c.CreatedAt.Unix()
	resp["registration_client_uri"] = cs.server.RegistrationEndpoint() + "/" + url.PathEscape(c.ID)
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
	// User info has no use in a redirect URI, and makes one read as
	// another host: https://app.example@evil.example/.
	if u.User != nil {
		return "redirect URI " + raw + " must not contain user info"
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		if p := u.Port(); (p != "" || strings.HasSuffix(u.Host, ":")) && !validPort(":"+p) {
			return "redirect URI " + raw + " has an invalid port"
		}
	}
	switch u.Scheme {
	case "https":
		if u.Hostname() == "" {
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

// usesSecret reports whether the client authenticates with a client
// secret.
func usesSecret(c *ports.Client) bool {
	switch c.TokenEndpointAuth {
	case ports.AuthMethodSecretBasic, ports.AuthMethodSecretPost, AuthMethodSecretJWT:
		return true
	}
	return false
}

// setSecret stores the client's secret: always as a keyed hash, and sealed
// as well for client_secret_jwt, whose HMAC check needs the secret itself.
func (cs *clientService) setSecret(c *ports.Client, clientSecret string) error {
	if !usesSecret(c) {
		return nil
	}
	c.SecretHash = cs.secrets.Hash(clientSecret)
	if c.TokenEndpointAuth == AuthMethodSecretJWT {
		sealed, err := cs.sealer.Seal([]byte(clientSecret), c.Tenant+"/"+c.ID)
		if err != nil {
			return ErrServerError.Wrap(err)
		}
		c.SecretSealed = sealed
	}
	return nil
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
