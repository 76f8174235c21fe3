package core

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// Client-initiated backchannel authentication (OpenID Connect CIBA Core
// 1.0), in poll and ping modes.
const (
	GrantCIBA = "urn:openid:params:grant-type:ciba"
	// cibaDefaultExpiry applies without requested_expiry; cibaMaxExpiry
	// caps what a client may request.
	cibaDefaultExpiry = 5 * time.Minute
	cibaMaxExpiry     = 10 * time.Minute
	cibaPollEvery     = 5 * time.Second
	// MaxBindingMessage is the longest binding_message accepted, in
	// characters: it must fit on a phone's notification and be read at a
	// glance on both devices.
	MaxBindingMessage = 64
	// maxNotificationToken follows CIBA §7.1, which recommends that the
	// client_notification_token not exceed 1024 characters.
	maxNotificationToken = 1024
	// cibaNoticeTimeout bounds one delivery to an authentication device,
	// retries included.
	cibaNoticeTimeout = time.Minute
)

// Errors of the backchannel authentication endpoint (CIBA §13) that RFC
// 6749 does not define.
var (
	ErrUnknownUserID         = &Error{Code: "unknown_user_id", Status: 400}
	ErrInvalidBindingMessage = &Error{Code: "invalid_binding_message", Status: 400}
)

// Delivery kinds reported to Deps.OnCIBADelivery.
const (
	CIBADeliveryDevice = "device" // a notice to the user's authentication device
	CIBADeliveryPing   = "ping"   // a ping to the client's notification endpoint
)

// BackchannelAuthentication is the successful authentication request
// acknowledgement (CIBA §7.3).
type BackchannelAuthentication struct {
	AuthReqID string `json:"auth_req_id"`
	ExpiresIn int64  `json:"expires_in"`
	Interval  int64  `json:"interval"`
}

// backchannelParams is a backchannel authentication request as parsed
// from its form, before the client and the user are looked up.
type backchannelParams struct {
	scopes            []string
	loginHint         string
	idTokenHint       string
	bindingMessage    string
	expiry            time.Duration
	notificationToken string
}

// parseBackchannelRequest validates the parameters of an authentication
// request (CIBA §7.1) from a client registered for mode. It needs neither
// the store nor the keys, so it can be fuzzed on its own.
func parseBackchannelRequest(form url.Values, mode string) (*backchannelParams, error) {
	// RFC 6749 §3.2, which CIBA §7.1 builds on: no parameter twice.
	for name, v := range form {
		if len(v) > 1 {
			return nil, ErrInvalidRequest.WithDescription(name + " is repeated")
		}
	}
	// CIBA §7.1.1: signed requests are optional; discovery advertises no
	// backchannel_authentication_request_signing_alg_values_supported.
	if form.Get("request") != "" {
		return nil, ErrInvalidRequest.WithDescription("signed authentication requests (request) are not supported")
	}
	bp := &backchannelParams{}
	scopes, ok := ParseScope(form.Get("scope"))
	if !ok {
		return nil, ErrInvalidScope.WithDescription("scope has invalid characters")
	}
	// CIBA §7.1: authentication requests must contain the openid scope.
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, ErrInvalidScope.WithDescription("scope must include openid")
	}
	bp.scopes = scopes

	// CIBA §7.1: exactly one of login_hint_token, id_token_hint and
	// login_hint identifies the user.
	hints := 0
	for _, name := range []string{"login_hint", "id_token_hint", "login_hint_token"} {
		if form.Get(name) != "" {
			hints++
		}
	}
	switch {
	case hints == 0:
		return nil, ErrInvalidRequest.WithDescription("one of login_hint, id_token_hint or login_hint_token is required")
	case hints > 1:
		return nil, ErrInvalidRequest.WithDescription("send only one of login_hint, id_token_hint and login_hint_token")
	case form.Get("login_hint_token") != "":
		return nil, ErrInvalidRequest.WithDescription("login_hint_token is not supported; identify the user with login_hint or id_token_hint")
	}
	bp.loginHint = strings.TrimSpace(form.Get("login_hint"))
	bp.idTokenHint = form.Get("id_token_hint")
	if form.Get("login_hint") != "" && bp.loginHint == "" {
		return nil, ErrUnknownUserID.WithDescription("login_hint names no user")
	}

	// CIBA §7.1: the binding message is shown on both devices, so it is
	// short plain text.
	if msg := form.Get("binding_message"); msg != "" {
		if err := checkBindingMessage(msg); err != "" {
			return nil, ErrInvalidBindingMessage.WithDescription(err)
		}
		bp.bindingMessage = msg
	}
	// CIBA §7.1: user_code is optional for the OP, and discovery says
	// backchannel_user_code_parameter_supported false.
	if form.Get("user_code") != "" {
		return nil, ErrInvalidRequest.WithDescription("user_code is not supported")
	}
	// The decision page shows no authorization details (RFC 9396):
	// refused rather than dropped.
	if form.Get(paramAuthorizationDetails) != "" {
		return nil, ErrInvalidAuthorizationDetails.WithDescription("authorization_details is not supported in backchannel authentication requests")
	}

	bp.expiry = cibaDefaultExpiry
	if v, given := form["requested_expiry"]; given {
		// CIBA §7.1: a positive integer number of seconds.
		n, err := strconv.ParseUint(v[0], 10, 32)
		if err != nil || n == 0 {
			return nil, ErrInvalidRequest.WithDescription("requested_expiry must be a positive whole number of seconds")
		}
		bp.expiry = min(time.Duration(n)*time.Second, cibaMaxExpiry)
	}

	if mode == ports.CIBAModePing {
		tok := form.Get("client_notification_token")
		// CIBA §7.1: required for ping clients. It goes back in an
		// Authorization: Bearer header (CIBA §10.2), so it must be an RFC
		// 6750 §2.1 b64token.
		switch {
		case tok == "":
			return nil, ErrInvalidRequest.WithDescription("client_notification_token is required in ping mode")
		case len(tok) > maxNotificationToken:
			return nil, ErrInvalidRequest.WithDescription("client_notification_token is longer than 1024 characters")
		case !isB64Token(tok):
			return nil, ErrInvalidRequest.WithDescription("client_notification_token must use the bearer token characters of RFC 6750 §2.1")
		}
		bp.notificationToken = tok
	}
	return bp, nil
}

// checkBindingMessage returns what is wrong with a binding message, or "".
func checkBindingMessage(msg string) string {
	if !utf8.ValidString(msg) {
		return "binding_message is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(msg); n > MaxBindingMessage {
		return "binding_message is longer than " + strconv.Itoa(MaxBindingMessage) + " characters"
	}
	if strings.TrimSpace(msg) == "" {
		return "binding_message is blank"
	}
	for _, r := range msg {
		if !unicode.IsPrint(r) {
			return "binding_message may hold only printable characters on one line"
		}
	}
	return ""
}

// isB64Token reports whether s matches RFC 6750 §2.1:
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~+/", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// cibaPing is what a ping-mode request keeps sealed for its callback.
type cibaPing struct {
	AuthReqID string `json:"auth_req_id"`
	Token     string `json:"client_notification_token"`
}

// AuthenticateBackchannel serves the backchannel authentication endpoint
// (CIBA §7): it authenticates the client, validates the request, stores
// it, and has the user's authentication device notified in the
// background.
func (ds *decisionService) AuthenticateBackchannel(ctx context.Context, cred ClientCredentials, form url.Values) (*BackchannelAuthentication, error) {
	if !ds.CIBAEnabled() {
		return nil, ErrInvalidRequest.WithDescription("backchannel authentication is not enabled on this server")
	}
	// CIBA §7.2: the client authenticates as registered, like at the
	// token endpoint.
	client, err := ds.clients.AuthenticateClient(ctx, cred)
	if err != nil {
		return nil, err
	}
	if !client.HasGrantType(GrantCIBA) || client.Public() {
		return nil, ErrUnauthorizedClient.WithDescription("the client is not registered for the CIBA grant")
	}
	meta := registeredMetadata(client)
	mode := meta.BackchannelTokenDeliveryMode
	if mode != ports.CIBAModePoll && (mode != ports.CIBAModePing || ds.sealer == nil) {
		return nil, ErrUnauthorizedClient.WithDescription("the client's backchannel_token_delivery_mode is not supported")
	}
	bp, err := parseBackchannelRequest(form, mode)
	if err != nil {
		return nil, err
	}
	if !subset(bp.scopes, client.Scope) {
		return nil, ErrInvalidScope.WithDescription("the client may not request this scope")
	}
	user, err := ds.cibaUser(ctx, client, bp)
	if err != nil {
		return nil, err
	}

	now := ds.clock.Now()
	authReqID := secret.Random(32)
	decisionID := secret.Random(24)
	rec := &ports.CIBARequest{
		Hash: secret.Digest(authReqID), Tenant: ds.settings.tenant, DecisionHash: secret.Digest(decisionID),
		ClientID: client.ID, UserID: user.ID, Scope: JoinScope(bp.scopes), BindingMessage: bp.bindingMessage,
		DeliveryMode: mode, Status: ports.CIBAPending, Interval: cibaPollEvery,
		CreatedAt: now, ExpiresAt: now.Add(bp.expiry),
	}
	if mode == ports.CIBAModePing {
		plain, _ := json.Marshal(cibaPing{AuthReqID: authReqID, Token: bp.notificationToken})
		if rec.Ping, err = ds.sealer.Seal(plain, cibaPingAAD(rec)); err != nil {
			return nil, ErrServerError.Wrap(err)
		}
	}
	requested := ds.event(ctx, ports.EventCIBARequested, user.ID, client.ID, map[string]string{"delivery_mode": mode, "scope": rec.Scope})
	if err := ds.store.CreateCIBARequest(ctx, rec, requested); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	notice := ports.CIBANotice{
		ID: ports.NewEventID(), Tenant: ds.settings.tenant, UserID: user.ID, Username: user.Username,
		ClientID: client.ID, ClientName: client.Name, Scope: rec.Scope, BindingMessage: rec.BindingMessage,
		DecisionURL: ds.settings.cibaDecisionURI + "?id=" + url.QueryEscape(decisionID), ExpiresAt: rec.ExpiresAt,
	}
	if notice.ClientName == "" {
		notice.ClientName = client.ID
	}
	ds.background.Go(func() { ds.notifyDevice(context.WithoutCancel(ctx), notice) })
	return &BackchannelAuthentication{
		AuthReqID: authReqID, ExpiresIn: int64(bp.expiry / time.Second), Interval: int64(cibaPollEvery / time.Second),
	}, nil
}

// cibaPingAAD binds a sealed ping to its request.
func cibaPingAAD(r *ports.CIBARequest) string { return "ciba-ping|" + r.Tenant + "|" + r.Hash }

// cibaUser finds the user the request's hint names.
func (ds *decisionService) cibaUser(ctx context.Context, client *ports.Client, bp *backchannelParams) (*ports.User, error) {
	var (
		user *ports.User
		err  error
	)
	if bp.idTokenHint != "" {
		sub, ok := ds.idTokenHintSubject(bp.idTokenHint, client.ID)
		if !ok {
			return nil, ErrInvalidRequest.WithDescription("id_token_hint is not an ID token this server issued to the client")
		}
		user, err = ds.store.GetUser(ctx, ds.settings.tenant, sub)
	} else {
		user, err = ds.store.GetUserByUsername(ctx, ds.settings.tenant, bp.loginHint)
	}
	if errors.Is(err, ports.ErrNotFound) {
		// CIBA §13: unknown_user_id when the hint names nobody.
		return nil, ErrUnknownUserID.WithDescription("the hint does not name a known user")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	return user, nil
}

// idTokenHintSubject checks an id_token_hint (CIBA §7.1: an ID token the
// OP issued to this client) and returns its subject. Its signature,
// issuer, type and audience must hold, which tells it from the access and
// logout tokens the server also signs. An expired one still names the
// user: OIDC Core §3.1.2.1 has the hint speak of a current or past
// session.
func (ds *decisionService) idTokenHintSubject(hint, clientID string) (string, bool) {
	hdr, payload, err := ds.keys.Verify(hint)
	if err != nil || hdr.Typ != "JWT" {
		return "", false
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Iss != ds.settings.issuer || claims.Sub == "" {
		return "", false
	}
	auds, ok := parseAudience(claims.Aud)
	if !ok || !slices.Contains(auds, clientID) {
		return "", false
	}
	return claims.Sub, true
}

// notifyDevice hands a notice to the notifier, off the request path, and
// reports the outcome.
func (ds *decisionService) notifyDevice(ctx context.Context, n ports.CIBANotice) {
	ctx, cancel := context.WithTimeout(ctx, cibaNoticeTimeout)
	defer cancel()
	err := ds.cibaNotifier.NotifyCIBA(ctx, n)
	if ds.onCIBADelivery != nil {
		ds.onCIBADelivery(CIBADeliveryDevice, err)
	}
}

// PendingCIBA is a backchannel authentication request a person is about
// to decide.
type PendingCIBA struct {
	Client         *ports.Client
	Scopes         []string
	BindingMessage string
	// UserID is the user the request names: only they may decide it.
	UserID    string
	ExpiresAt time.Time
}

// LookupCIBA finds the pending request of a decision id. ok is false for
// an unknown, expired or already decided one.
func (ds *decisionService) LookupCIBA(ctx context.Context, decisionID string) (*PendingCIBA, bool, error) {
	if decisionID == "" {
		return nil, false, nil
	}
	r, err := ds.store.GetCIBARequestByDecision(ctx, ds.settings.tenant, secret.Digest(decisionID), ds.clock.Now())
	if errors.Is(err, ports.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, ErrServerError.Wrap(err)
	}
	if r.Status != ports.CIBAPending {
		return nil, false, nil
	}
	c, err := ds.store.GetClient(ctx, ds.settings.tenant, r.ClientID)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, ErrServerError.Wrap(err)
	}
	scopes, _ := ParseScope(r.Scope)
	return &PendingCIBA{Client: c, Scopes: scopes, BindingMessage: r.BindingMessage, UserID: r.UserID, ExpiresAt: r.ExpiresAt}, true, nil
}

// DecideCIBA records the person's answer to the request of a decision id
// (CIBA §8). Only the user the request names may answer; in ping mode the
// client is then told (CIBA §10.2), in the background.
func (ds *decisionService) DecideCIBA(ctx context.Context, decisionID string, sess *ports.Session, approve bool) error {
	gone := ErrInvalidRequest.WithDescription("the request is unknown, expired or already decided")
	now := ds.clock.Now()
	r, err := ds.store.GetCIBARequestByDecision(ctx, ds.settings.tenant, secret.Digest(decisionID), now)
	if errors.Is(err, ports.ErrNotFound) {
		return gone
	}
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	if r.Status != ports.CIBAPending {
		return gone
	}
	// CIBA §7.1: the hint named the user who must authenticate; anyone
	// else signed in on this browser cannot answer for them.
	if r.UserID != sess.UserID {
		return ErrAccessDenied.WithDescription("this request is for another account")
	}
	status, decision := ports.CIBADenied, "denied"
	var consent *ports.Consent
	evs := make([]ports.Event, 0, 2)
	if approve {
		status, decision = ports.CIBAApproved, "approved"
		// The approval is the person's consent, saved with the decision,
		// as a device's approval is.
		scopes, _ := ParseScope(r.Scope)
		var granted ports.Event
		if consent, granted, err = ds.clients.consentOf(ctx, sess.UserID, r.ClientID, scopes, map[string]string{"flow": "ciba"}); err != nil {
			return err
		}
		evs = append(evs, granted)
	}
	evs = append(evs, ds.event(ctx, ports.EventCIBADecided, sess.UserID, r.ClientID, map[string]string{"decision": decision, "delivery_mode": r.DeliveryMode}))
	err = ds.store.DecideCIBARequest(ctx, ds.settings.tenant, r.DecisionHash, status, sess.ID, sess.AuthTime, now, consent, evs...)
	if errors.Is(err, ports.ErrNotFound) || errors.Is(err, ports.ErrAlreadyUsed) {
		return gone
	}
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	if r.DeliveryMode == ports.CIBAModePing {
		ds.pingClient(ctx, r)
	}
	return nil
}

// pingClient tells a ping-mode client that the result of its request is
// ready (CIBA §10.2): a POST of {"auth_req_id"} to its registered
// notification endpoint, with its client_notification_token as a bearer
// token, retried in the background.
func (ds *decisionService) pingClient(ctx context.Context, r *ports.CIBARequest) {
	report := func(err error) {
		if ds.onCIBADelivery != nil {
			ds.onCIBADelivery(CIBADeliveryPing, err)
		}
	}
	c, err := ds.store.GetClient(ctx, ds.settings.tenant, r.ClientID)
	if err != nil {
		report(err)
		return
	}
	endpoint := registeredMetadata(c).BackchannelClientNotificationEndpoint
	if ds.sealer == nil || endpoint == "" {
		report(errors.New("ciba ping: no notification endpoint or no sealer"))
		return
	}
	plain, err := ds.sealer.Open(r.Ping, cibaPingAAD(r))
	var ping cibaPing
	if err == nil {
		err = json.Unmarshal(plain, &ping)
	}
	if err != nil {
		report(err)
		return
	}
	body, _ := json.Marshal(map[string]string{"auth_req_id": ping.AuthReqID})
	ds.background.Go(func() { report(ds.notifier.deliver(endpoint, "application/json", string(body), ping.Token)) })
}

// CIBAEnabled reports whether the server serves backchannel
// authentication: it needs a way to reach users' authentication devices.
func (ds *decisionService) CIBAEnabled() bool { return ds.cibaNotifier != nil }

// cibaModes lists the token delivery modes the server supports: ping needs
// the sealer that keeps its callback's secrets.
func (ds *decisionService) cibaModes() []string {
	if ds.sealer == nil {
		return []string{ports.CIBAModePoll}
	}
	return []string{ports.CIBAModePoll, ports.CIBAModePing}
}

// cibaMetadata adds the CIBA members of the discovery document (CIBA
// §4): signed requests and user codes are not supported, so
// backchannel_authentication_request_signing_alg_values_supported is left
// out and the user code parameter advertised false.
func (ds *decisionService) cibaMetadata(m map[string]any) {
	if !ds.CIBAEnabled() {
		return
	}
	m["backchannel_authentication_endpoint"] = ds.settings.backchannelEndpoint
	m["backchannel_token_delivery_modes_supported"] = ds.cibaModes()
	m["backchannel_user_code_parameter_supported"] = false
}

// checkCIBAMetadata validates the registration metadata of CIBA (CIBA §4)
// and returns what is wrong, or "".
func (ds *decisionService) checkCIBAMetadata(m clientMetadata) string {
	if !slices.Contains(m.GrantTypes, GrantCIBA) {
		if m.BackchannelTokenDeliveryMode != "" || m.BackchannelClientNotificationEndpoint != "" ||
			m.BackchannelAuthRequestSigningAlg != "" || m.BackchannelUserCodeParameter {
			return "backchannel_* metadata needs the grant type " + GrantCIBA
		}
		return ""
	}
	if m.TokenEndpointAuthMethod == ports.AuthMethodNone {
		return "public clients cannot use the CIBA grant"
	}
	switch mode := m.BackchannelTokenDeliveryMode; mode {
	case ports.CIBAModePoll:
	case ports.CIBAModePing:
		if !slices.Contains(ds.cibaModes(), mode) {
			return "backchannel_token_delivery_mode ping is not supported on this server"
		}
		if m.BackchannelClientNotificationEndpoint == "" {
			return "ping mode needs a backchannel_client_notification_endpoint"
		}
	case "":
		return "the CIBA grant needs backchannel_token_delivery_mode poll or ping"
	case "push":
		return "backchannel_token_delivery_mode push is not supported; use poll or ping"
	default:
		return "backchannel_token_delivery_mode must be poll or ping"
	}
	if e := m.BackchannelClientNotificationEndpoint; e != "" && !notificationEndpointOK(e) {
		return "backchannel_client_notification_endpoint must be an https URL without a fragment"
	}
	if e := ds.clients.checkCalledURL("backchannel_client_notification_endpoint", m.BackchannelClientNotificationEndpoint); e != "" {
		return e
	}
	if m.BackchannelAuthRequestSigningAlg != "" {
		return "signed backchannel authentication requests are not supported; leave out backchannel_authentication_request_signing_alg"
	}
	if m.BackchannelUserCodeParameter {
		return "backchannel_user_code_parameter is not supported"
	}
	return ""
}

// notificationEndpointOK applies CIBA §4 (an https URL) to a client
// notification endpoint, allowing http on the loopback interface as the
// server does for redirect and logout URIs, for development. The URL
// carries no credentials: the bearer token authenticates the ping.
func notificationEndpointOK(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.User == nil && checkRedirectURI(raw, "web") == ""
}

// BackchannelAuthenticationEndpoint is the CIBA endpoint URL.
func (p *Provider) BackchannelAuthenticationEndpoint() string {
	return p.cfg.Issuer + "/oauth/bc-authorize"
}

// CIBADecisionURI is the page where people answer backchannel
// authentication requests.
func (p *Provider) CIBADecisionURI() string { return p.cfg.Issuer + "/ciba" }
