package core

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"oauth2-server.dev/core/authzdetails"
	"oauth2-server.dev/core/dpop"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/pkce"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// authorizationSettings are what the authorization service needs of the
// configuration.
type authorizationSettings struct {
	issuer, tenant string
	// parEndpoint is the pushed authorization request endpoint, the
	// audience of request objects pushed there.
	parEndpoint string
	// codeTTL is the lifetime of authorization codes, authRequestTTL
	// that of a request waiting for sign-in and consent.
	codeTTL, authRequestTTL time.Duration
	// requirePAR makes every client push its requests (RFC 9126 §6).
	requirePAR bool
	// requestURIHosts are the hosts request objects may be fetched from
	// by reference (RFC 9101 §5.2).
	requestURIHosts []string
	// authorizationDetailsTypes are the RFC 9396 types the server
	// accepts.
	authorizationDetailsTypes []string
}

// authorizationSettings leaves parEndpoint to the Provider, which names
// the endpoints.
func (c Config) authorizationSettings() authorizationSettings {
	return authorizationSettings{
		issuer: c.Issuer, tenant: c.Tenant,
		codeTTL: c.CodeTTL, authRequestTTL: c.AuthRequestTTL, requirePAR: c.RequirePAR,
		requestURIHosts: c.RequestURIHosts, authorizationDetailsTypes: c.AuthorizationDetailsTypes,
	}
}

// authorizationService is the authorization endpoint: it validates
// requests (plain, pushed (RFC 9126) and in request objects (RFC 9101)),
// decides whether the person must sign in or consent, keeps consents,
// issues codes and front-channel tokens, and shapes the response in the
// mode the client asked for.
type authorizationService struct {
	settings authorizationSettings
	store    authorizationStore
	clock    ports.Clock
	// keys sign JWT-secured authorization responses (JARM); mint issues
	// the front-channel tokens of hybrid and implicit responses.
	keys *keyset.Set
	mint *minter
	// dir reads clients through the cache.
	dir     *directory
	clients authorizationClients
	// requestURIClient fetches request objects by reference, each fetch
	// within requestURITimeout.
	requestURIClient  *http.Client
	requestURITimeout time.Duration
	*eventSource
}

// authorizationStore is what the authorization service reads and
// changes: pending requests, codes, consents, and the clients and tokens
// of front-channel responses.
type authorizationStore interface {
	ports.AuthRequestStore
	ports.ConsentStore
	CreateAuthCode(ctx context.Context, c *ports.AuthorizationCode, evs ...ports.Event) error
	GetClient(ctx context.Context, tenant, id string) (*ports.Client, error)
	tokenCreator
}

// authorizationClients authenticates the clients that push requests and
// verifies the request objects they sign.
type authorizationClients interface {
	authenticateWithProof(ctx context.Context, cred ClientCredentials, d DPoPProof, endpoint string) (*ports.Client, *dpop.Proof, error)
	verifyPrivateKeyJWT(ctx context.Context, meta clientKeysMetadata, alg, kid string, signingInput, sig []byte) error
	useOnce(ctx context.Context, namespace string, c *assertionClaims, now time.Time) (bool, error)
	audienceIsMe(raw json.RawMessage) bool
}

// Prompt values (OIDC Core §3.1.2.1) the server supports.
const (
	PromptNone    = "none"
	PromptLogin   = "login"
	PromptConsent = "consent"
)

// AuthorizeRequest is a validated authorization request.
type AuthorizeRequest struct {
	Client              *ports.Client
	RedirectURI         string
	redirectURIGiven    bool
	ResponseType        string
	ResponseMode        string
	State               string
	Scopes              []string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	MaxAge              *time.Duration
	LoginHint           string
	// Resources are the RFC 8707 resource indicators requested.
	Resources []string
	// DPoPJKT is the dpop_jkt parameter (RFC 9449 §10): the thumbprint of
	// the DPoP key the code will be bound to.
	DPoPJKT string
	// AuthorizationDetails are the RFC 9396 authorization details
	// requested; nil without any.
	AuthorizationDetails authzdetails.List
}

// Scope returns the requested scopes, space-separated.
func (r *AuthorizeRequest) Scope() string { return JoinScope(r.Scopes) }

func (r *AuthorizeRequest) hasPrompt(v string) bool { return slices.Contains(r.Prompt, v) }

// FormPost is an authorization response delivered by an auto-submitted
// form (OAuth 2.0 Form Post Response Mode §2).
type FormPost struct {
	Action string
	Params url.Values
}

// Interaction is what the user must do before the server can answer an
// authorization request.
type Interaction string

// Interactions.
const (
	InteractionNone    Interaction = ""
	InteractionLogin   Interaction = "login"
	InteractionConsent Interaction = "consent"
)

// AuthorizeResult is the outcome of an authorization step: either a
// redirect back to the client (a code or an error), or an interaction the
// user must complete for the pending request RequestID.
type AuthorizeResult struct {
	RedirectURL string
	// FormPost, for response_mode=form_post and form_post.jwt, is the form
	// the browser posts to the client instead of following a redirect.
	FormPost    *FormPost
	Interaction Interaction
	RequestID   string
	// Issued names the tokens the response carries besides the code
	// (access_token, id_token), for the hybrid response types.
	Issued []string
}

// authorizeParams are the parameters that must not repeat (RFC 6749 §3.1).
var authorizeParams = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
	"nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint",
	"request", "request_uri", "dpop_jkt", paramAuthorizationDetails,
}

// StartAuthorization validates an authorization request and decides what
// happens next for the browser's session sess (nil when nobody is logged
// in). An error return is one that must not be redirected to the client (an
// unknown client or an unregistered redirect URI): show it to the user.
func (az *authorizationService) StartAuthorization(ctx context.Context, params url.Values, sess *ports.Session) (*AuthorizeResult, error) {
	// RFC 6749 §3.1: a pushed request or a request object must agree with
	// the client_id beside it, so that one is checked before either is
	// resolved (and a pushed one used up).
	if len(params["client_id"]) > 1 {
		return nil, ErrInvalidRequest.WithDescription("client_id is repeated")
	}
	uri := params.Get("request_uri")
	pushed := strings.HasPrefix(uri, requestURIPrefix)
	if uri != "" {
		var err error
		if pushed {
			params, err = az.pushedParams(ctx, params)
		} else {
			params, err = az.remoteRequestParams(ctx, params)
		}
		if err != nil {
			return nil, err
		}
	}
	if params.Get("request") != "" {
		var err error
		if params, err = az.requestObjectParams(ctx, params); err != nil {
			return nil, err
		}
	}
	req, redirectErr, err := az.parseAuthorize(ctx, params)
	if err != nil {
		return nil, err
	}
	if redirectErr == nil && !pushed && az.requiresPAR(req.Client) {
		redirectErr = ErrInvalidRequest.WithDescription("this client must use pushed authorization requests")
	}
	if redirectErr != nil {
		return az.errorRedirect(req, redirectErr)
	}
	return az.decide(ctx, req, params, sess, az.clock.Now(), "")
}

// ResumeAuthorization continues a pending request after the user logged in.
func (az *authorizationService) ResumeAuthorization(ctx context.Context, requestID string, sess *ports.Session) (*AuthorizeResult, error) {
	req, pending, err := az.PendingRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	params, _ := url.ParseQuery(pending.Params)
	return az.decide(ctx, req, params, sess, pending.CreatedAt, pending.ID)
}

// ConsentDecision records the user's answer on the consent page for the
// pending request and redirects back to the client.
func (az *authorizationService) ConsentDecision(ctx context.Context, requestID string, sess *ports.Session, allow bool) (*AuthorizeResult, error) {
	req, pending, err := az.PendingRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if az.needsLogin(req, sess, pending.CreatedAt) {
		return &AuthorizeResult{Interaction: InteractionLogin, RequestID: pending.ID}, nil
	}
	if err := az.store.DeleteAuthRequest(ctx, az.settings.tenant, pending.ID); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	if !allow {
		return az.errorRedirect(req, ErrAccessDenied.WithDescription("the user denied the request"))
	}
	data := map[string]string{}
	if len(req.AuthorizationDetails) > 0 {
		// Types only: the values may name accounts and amounts.
		data["authorization_details_types"] = strings.Join(req.AuthorizationDetails.Types(), " ")
	}
	if err := az.rememberConsent(ctx, sess.UserID, req.Client.ID, req.Scopes, data); err != nil {
		return nil, err
	}
	return az.issueCode(ctx, req, sess)
}

// rememberConsent records that the user granted the client scopes, as
// consentOf describes.
func (az *authorizationService) rememberConsent(ctx context.Context, userID, clientID string, scopes []string, data map[string]string) error {
	c, granted, err := az.consentOf(ctx, userID, clientID, scopes, data)
	if err != nil {
		return err
	}
	if err := az.store.SaveConsent(ctx, c, granted); err != nil {
		return ErrServerError.Wrap(err)
	}
	return nil
}

// consentOf is the consent of the user to the client for scopes, added to
// what they granted it before, with its consent.granted event, whose data
// is data with the consent's whole scope. The account page lists the
// consent, and withdrawing it revokes the client's tokens for the user.
// When the consent before cannot be read it fails, rather than replace it
// with one that forgets what it granted.
func (az *authorizationService) consentOf(ctx context.Context, userID, clientID string, scopes []string, data map[string]string) (*ports.Consent, ports.Event, error) {
	scope := slices.Clone(scopes)
	prev, err := az.store.GetConsent(ctx, az.settings.tenant, userID, clientID)
	switch {
	case err == nil:
		granted, _ := ParseScope(prev.Scope)
		for _, s := range granted {
			if !slices.Contains(scope, s) {
				scope = append(scope, s)
			}
		}
	case !errors.Is(err, ports.ErrNotFound):
		return nil, ports.Event{}, ErrServerError.Wrap(err)
	}
	data["scope"] = JoinScope(scope)
	return &ports.Consent{
		Tenant: az.settings.tenant, UserID: userID, ClientID: clientID,
		Scope: JoinScope(scope), GrantedAt: az.clock.Now(),
	}, az.event(ctx, ports.EventConsentGranted, userID, clientID, data), nil
}

// PendingRequest loads a pending authorization request and validates it
// again, for the login and consent pages.
func (az *authorizationService) PendingRequest(ctx context.Context, requestID string) (*AuthorizeRequest, *ports.AuthRequest, error) {
	expired := ErrInvalidRequest.WithDescription("the sign-in request has expired or is unknown; start again from the application")
	if requestID == "" {
		return nil, nil, expired
	}
	pending, err := az.store.GetAuthRequest(ctx, az.settings.tenant, requestID, az.clock.Now())
	if errors.Is(err, ports.ErrNotFound) {
		return nil, nil, expired
	}
	if err != nil {
		return nil, nil, ErrServerError.Wrap(err)
	}
	params, err := url.ParseQuery(pending.Params)
	if err != nil {
		return nil, nil, ErrServerError.Wrap(err)
	}
	req, redirectErr, err := az.parseAuthorize(ctx, params)
	if err != nil {
		return nil, nil, err
	}
	if redirectErr != nil {
		// The client's registration changed since the request was made.
		return nil, nil, redirectErr
	}
	return req, pending, nil
}

func (az *authorizationService) decide(ctx context.Context, req *AuthorizeRequest, params url.Values, sess *ports.Session, createdAt time.Time, pendingID string) (*AuthorizeResult, error) {
	if az.needsLogin(req, sess, createdAt) {
		if req.hasPrompt(PromptNone) {
			return az.errorRedirect(req, ErrLoginRequired.WithDescription("the user is not signed in"))
		}
		return az.interact(ctx, InteractionLogin, req, params, pendingID)
	}
	needConsent, err := az.needsConsent(ctx, req, sess)
	if err != nil {
		return nil, err
	}
	if needConsent {
		if req.hasPrompt(PromptNone) {
			return az.errorRedirect(req, ErrConsentRequired.WithDescription("the user has not consented to this client"))
		}
		return az.interact(ctx, InteractionConsent, req, params, pendingID)
	}
	if pendingID != "" {
		if err := az.store.DeleteAuthRequest(ctx, az.settings.tenant, pendingID); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
	}
	return az.issueCode(ctx, req, sess)
}

// needsLogin reports whether the user must (re-)authenticate. A login that
// happened after the request was made satisfies prompt=login and max_age.
func (az *authorizationService) needsLogin(req *AuthorizeRequest, sess *ports.Session, createdAt time.Time) bool {
	if sess == nil {
		return true
	}
	if !sess.AuthTime.Before(createdAt) {
		return false
	}
	if req.hasPrompt(PromptLogin) {
		return true
	}
	// OIDC Core §3.1.2.1: max_age bounds the time since the last active
	// authentication.
	return req.MaxAge != nil && az.clock.Now().Sub(sess.AuthTime) > *req.MaxAge
}

func (az *authorizationService) needsConsent(ctx context.Context, req *AuthorizeRequest, sess *ports.Session) (bool, error) {
	// Remembered consent covers scopes only. Authorization details name
	// one payment or one account: each request that carries them is put
	// to the user.
	if req.hasPrompt(PromptConsent) || len(req.AuthorizationDetails) > 0 {
		return true, nil
	}
	c, err := az.store.GetConsent(ctx, az.settings.tenant, sess.UserID, req.Client.ID)
	if errors.Is(err, ports.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, ErrServerError.Wrap(err)
	}
	return !subset(req.Scopes, c.Scope), nil
}

func (az *authorizationService) interact(ctx context.Context, what Interaction, req *AuthorizeRequest, params url.Values, pendingID string) (*AuthorizeResult, error) {
	if pendingID == "" {
		now := az.clock.Now()
		pending := &ports.AuthRequest{
			ID: secret.Random(24), Tenant: az.settings.tenant, ClientID: req.Client.ID,
			Params: params.Encode(), CreatedAt: now, ExpiresAt: now.Add(az.settings.authRequestTTL),
		}
		if err := az.store.CreateAuthRequest(ctx, pending); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		pendingID = pending.ID
	}
	return &AuthorizeResult{Interaction: what, RequestID: pendingID}, nil
}

// issueCode answers an authorized request: it stores a code and, for the
// hybrid response types, mints the tokens that travel with it. The code is
// stored first: should minting fail, the user gets an error and the code,
// which nobody received, expires unused.
func (az *authorizationService) issueCode(ctx context.Context, req *AuthorizeRequest, sess *ports.Session) (*AuthorizeResult, error) {
	now := az.clock.Now()
	code := secret.Random(32)
	rec := &ports.AuthorizationCode{
		Hash: secret.Digest(code), Tenant: az.settings.tenant, GrantID: secret.OrderedID(now),
		ClientID: req.Client.ID, UserID: sess.UserID, SessionID: sess.ID,
		Scope: req.Scope(), Resources: req.Resources, Nonce: req.Nonce, DPoPJKT: req.DPoPJKT,
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod,
		AuthTime: sess.AuthTime, CreatedAt: now, ExpiresAt: now.Add(az.settings.codeTTL),
		// What the user approved on the consent page, for the token
		// endpoint (RFC 9396 §6).
		AuthorizationDetails: req.AuthorizationDetails.JSON(),
	}
	if req.redirectURIGiven {
		rec.RedirectURI = req.RedirectURI
	}
	issued := az.event(ctx, ports.EventCodeIssued, sess.UserID, req.Client.ID, map[string]string{"grant_id": rec.GrantID, "scope": rec.Scope})
	if err := az.store.CreateAuthCode(ctx, rec, issued); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	q := url.Values{"code": {code}}
	var kinds []string
	if req.ResponseType != ResponseTypeCode {
		var err error
		if kinds, err = az.frontChannelTokens(ctx, req, sess, rec, code, q); err != nil {
			return nil, err
		}
	}
	res, err := az.redirect(req, q)
	if err != nil {
		return nil, err
	}
	res.Issued = kinds
	return res, nil
}

// parseAuthorize validates the request. err is set when the client or the
// redirect URI cannot be trusted (no redirect possible); redirectErr when
// the error may be sent to the validated redirect URI.
func (az *authorizationService) parseAuthorize(ctx context.Context, params url.Values) (req *AuthorizeRequest, redirectErr *Error, err error) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(params[name]) > 1 {
			return nil, nil, ErrInvalidRequest.WithDescription(name + " is repeated")
		}
	}
	clientID := params.Get("client_id")
	if clientID == "" {
		return nil, nil, ErrInvalidRequest.WithDescription("client_id is missing")
	}
	client, err := az.dir.client(ctx, clientID)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, nil, ErrInvalidClient.WithDescription("unknown client_id")
	}
	if err != nil {
		return nil, nil, ErrServerError.Wrap(err)
	}
	req = &AuthorizeRequest{Client: client}
	if raw, given := params["redirect_uri"]; given {
		req.redirectURIGiven = true
		if !redirectURIMatches(client, raw[0]) {
			return nil, nil, ErrInvalidRequest.WithDescription("redirect_uri is not registered for this client")
		}
		req.RedirectURI = raw[0]
	} else {
		// RFC 6749 §3.1.2.3: may be omitted only when exactly one is
		// registered.
		if len(client.RedirectURIs) != 1 {
			return nil, nil, ErrInvalidRequest.WithDescription("redirect_uri is missing")
		}
		req.RedirectURI = client.RedirectURIs[0]
	}
	req.State = params.Get("state")
	rt := params.Get("response_type")
	// The response mode is settled first: every later error travels in it.
	mode, modeErr := resolveResponseMode(params.Get("response_mode"), returnsTokens(rt))
	req.ResponseMode = mode
	if len(params["response_mode"]) > 1 {
		req.ResponseMode, _ = resolveResponseMode("", returnsTokens(rt))
		return req, ErrInvalidRequest.WithDescription("response_mode is repeated"), nil
	}
	if modeErr != nil {
		return req, modeErr, nil
	}

	// From here on errors go back to the client.
	for _, name := range authorizeParams {
		if len(params[name]) > 1 {
			return req, ErrInvalidRequest.WithDescription(name + " is repeated"), nil
		}
	}
	if params.Get("request") != "" {
		return req, ErrInvalidRequestObject.WithDescription("a request object cannot contain another"), nil
	}
	if params.Get("request_uri") != "" {
		return req, ErrInvalidRequest.WithDescription("a pushed request cannot refer to another"), nil
	}
	if rt == "" {
		return req, ErrInvalidRequest.WithDescription("response_type is missing"), nil
	}
	canonical, known := canonicalResponseType(rt)
	if !known || !slices.Contains(ResponseTypes, canonical) {
		return req, ErrUnsupportedResponseType.WithDescription("response_type must be one of " + strings.Join(ResponseTypes, ", ") + "; the implicit flow is not supported"), nil
	}
	req.ResponseType = canonical
	// OIDC Registration §2: the response type must be one the client
	// registered, with the grant types that go with it.
	if !slices.Contains(client.ResponseTypes, canonical) || !client.HasGrantType(GrantAuthorizationCode) ||
		canonical != ResponseTypeCode && !client.HasGrantType(GrantImplicit) {
		return req, ErrUnauthorizedClient.WithDescription("the client is not registered for response_type " + canonical), nil
	}

	scopes, ok := ParseScope(params.Get("scope"))
	if !ok {
		return req, ErrInvalidScope.WithDescription("scope has invalid characters"), nil
	}
	if len(scopes) == 0 {
		scopes, _ = ParseScope(client.Scope)
	}
	if !subset(scopes, client.Scope) {
		return req, ErrInvalidScope.WithDescription("the client may not request this scope"), nil
	}
	req.Scopes = scopes

	req.CodeChallenge = params.Get("code_challenge")
	req.CodeChallengeMethod = params.Get("code_challenge_method")
	if req.CodeChallenge == "" {
		// RFC 9700 §2.1.1: PKCE for every client, not only public ones.
		return req, ErrInvalidRequest.WithDescription("code_challenge is required (PKCE with S256)"), nil
	}
	if err := pkce.CheckChallenge(req.CodeChallenge, req.CodeChallengeMethod); err != nil {
		return req, ErrInvalidRequest.WithDescription(err.Error()), nil
	}
	req.CodeChallengeMethod = pkce.MethodS256

	resources, rerr := parseResources(client, params["resource"])
	if rerr != nil {
		return req, rerr, nil
	}
	req.Resources = resources
	// RFC 9396 §3: authorization_details is validated like the other
	// parameters, and its errors go back to the client (§5).
	details, derr := az.parseAuthorizationDetails(client, params.Get(paramAuthorizationDetails))
	if derr != nil {
		return req, derr, nil
	}
	req.AuthorizationDetails = details
	// RFC 9449 §10: dpop_jkt is the base64url SHA-256 JWK thumbprint of
	// the key the client will prove possession of at the token endpoint.
	if jkt := params.Get("dpop_jkt"); jkt != "" {
		if !dpop.ValidThumbprint(jkt) {
			return req, ErrInvalidRequest.WithDescription("dpop_jkt must be the base64url SHA-256 thumbprint of a JWK"), nil
		}
		req.DPoPJKT = jkt
	}
	req.Nonce = params.Get("nonce")
	if responseTypeHas(req.ResponseType, "id_token") {
		// OIDC Core §3.3.2.11: an ID token from the authorization endpoint
		// needs the openid scope, and its nonce is required.
		if !slices.Contains(req.Scopes, ScopeOpenID) {
			return req, ErrInvalidScope.WithDescription("response_type " + req.ResponseType + " needs the openid scope"), nil
		}
		if req.Nonce == "" {
			return req, ErrInvalidRequest.WithDescription("nonce is required when response_type includes id_token"), nil
		}
	}
	req.LoginHint = params.Get("login_hint")
	if prompt := params.Get("prompt"); prompt != "" {
		for _, v := range strings.Fields(prompt) {
			switch v {
			case PromptNone, PromptLogin, PromptConsent:
				req.Prompt = append(req.Prompt, v)
			default:
				return req, ErrInvalidRequest.WithDescription("unsupported prompt value " + strconv.Quote(v)), nil
			}
		}
		// OIDC Core §3.1.2.1: none must not be combined with other values.
		if req.hasPrompt(PromptNone) && len(req.Prompt) > 1 {
			return req, ErrInvalidRequest.WithDescription("prompt=none cannot be combined with other values"), nil
		}
	}
	if ma := params.Get("max_age"); ma != "" {
		n, err := strconv.ParseInt(ma, 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			return req, ErrInvalidRequest.WithDescription("max_age must be a non-negative number of seconds"), nil
		}
		d := time.Duration(n) * time.Second
		req.MaxAge = &d
	}
	return req, nil, nil
}

// redirectURIMatches compares a requested redirect URI with the client's
// registered ones: exactly (RFC 9700 §4.1.3), except that native clients
// may use any port on a loopback IP literal (RFC 8252 §7.3). Only the port
// may differ: the rest is compared as text, so a URI that differs in the
// case of its scheme, the encoding of its path, an empty query or fragment
// or user info does not match.
func redirectURIMatches(c *ports.Client, requested string) bool {
	if slices.Contains(c.RedirectURIs, requested) {
		return true
	}
	if c.ApplicationType != "native" {
		return false
	}
	host, port, rest, ok := splitLoopback(requested)
	if !ok || !validPort(port) || strings.Contains(rest, "#") {
		return false
	}
	if _, err := url.Parse(requested); err != nil {
		return false
	}
	for _, reg := range c.RedirectURIs {
		if h, p, r, ok := splitLoopback(reg); ok && validPort(p) && h == host && r == rest {
			return true
		}
	}
	return false
}

// splitLoopback splits an http URI on a loopback IP literal into the host
// as written (an IPv6 one in brackets), the port with its colon ("" when
// the URI has none) and the rest after the authority. ok is false for any
// other URI, and for one with user info.
func splitLoopback(raw string) (host, port, rest string, ok bool) {
	after, found := strings.CutPrefix(raw, "http://")
	if !found {
		return "", "", "", false
	}
	end := strings.IndexAny(after, "/?#")
	if end < 0 {
		end = len(after)
	}
	authority, rest := after[:end], after[end:]
	host, ip := authority, authority
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && i > strings.LastIndexByte(authority, ']') {
		host, port = authority[:i], authority[i:]
		ip = host
	}
	if strings.HasPrefix(ip, "[") && strings.HasSuffix(ip, "]") {
		ip = ip[1 : len(ip)-1]
	} else if strings.Contains(ip, ":") {
		return "", "", "", false
	}
	if !isLoopbackIP(ip) {
		return "", "", "", false
	}
	return host, port, rest, true
}

// validPort reports whether the port part of an authority, colon
// included, is absent or names a port a browser can connect to, written in
// plain decimal: not empty, not 0, no sign, no leading zero.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	digits, _ := strings.CutPrefix(port, ":")
	if digits == "" || len(digits) > 5 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	n, _ := strconv.Atoi(digits)
	return n <= 65535
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
