package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// LogoutRequest is a validated RP-initiated logout request (OIDC
// RP-Initiated Logout §2).
type LogoutRequest struct {
	// Client is the relying party, known from id_token_hint or client_id.
	Client *ports.Client
	// Confirmed is true when the request proves it comes from the user's
	// own relying party: an id_token_hint for the browser's session. Other
	// requests need the user to confirm.
	Confirmed bool
	// RedirectURI is the registered post_logout_redirect_uri to return to,
	// with state; empty to show the signed-out page.
	RedirectURI string
	State       string
}

// ParseLogout validates an end-session request for the browser's session
// sess (nil when none). Errors are shown to the user, never redirected.
func (s *sessionService) ParseLogout(ctx context.Context, params url.Values, sess *ports.Session) (*LogoutRequest, error) {
	for name, v := range params {
		if len(v) > 1 {
			return nil, ErrInvalidRequest.WithDescription(name + " is repeated")
		}
	}
	req := &LogoutRequest{State: params.Get("state")}
	clientID := params.Get("client_id")
	var hintSub, hintSid string
	if hint := params.Get("id_token_hint"); hint != "" {
		// OIDC RP-Initiated Logout §2: the hint is an ID token this server
		// issued; it may have expired, so only the signature and issuer
		// are checked.
		_, payload, err := s.keys.Verify(hint)
		var claims struct {
			Iss string `json:"iss"`
			Sub string `json:"sub"`
			Aud any    `json:"aud"`
			Sid string `json:"sid"`
		}
		if err != nil || json.Unmarshal(payload, &claims) != nil || claims.Iss != s.settings.issuer {
			return nil, ErrInvalidRequest.WithDescription("id_token_hint is not an ID token issued by this server")
		}
		aud, _ := claims.Aud.(string)
		if clientID != "" && clientID != aud {
			return nil, ErrInvalidRequest.WithDescription("client_id does not match the id_token_hint audience")
		}
		clientID, hintSub, hintSid = aud, claims.Sub, claims.Sid
	}
	if clientID != "" {
		c, err := s.store.GetClient(ctx, s.settings.tenant, clientID)
		if errors.Is(err, ports.ErrNotFound) {
			return nil, ErrInvalidRequest.WithDescription("unknown client")
		}
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		req.Client = c
	}
	if uri := params.Get("post_logout_redirect_uri"); uri != "" {
		// §3: only a URI registered for the client, compared exactly.
		if req.Client == nil || !slices.Contains(registeredMetadata(req.Client).PostLogoutRedirectURIs, uri) {
			return nil, ErrInvalidRequest.WithDescription("post_logout_redirect_uri is not registered for this client")
		}
		req.RedirectURI = uri
	}
	req.Confirmed = sess == nil || hintSub != "" && hintSub == sess.UserID && (hintSid == "" || hintSid == SessionSID(sess.ID))
	return req, nil
}

// Redirect returns where to send the browser after logout, or "".
func (r *LogoutRequest) Redirect() string {
	if r.RedirectURI == "" {
		return ""
	}
	u, _ := url.Parse(r.RedirectURI)
	if r.State != "" {
		q := u.Query()
		q.Set("state", r.State)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// FrontchannelLogout is a relying party's page to load in an iframe when
// its session ends (OIDC Front-Channel Logout §2).
type FrontchannelLogout struct{ URL string }

// Logout ends the login session: it deletes it, notifies the relying
// parties that hold tokens from it over the back channel (in the
// background, with retries), and returns the front-channel logout pages
// the browser should load.
func (s *sessionService) Logout(ctx context.Context, sess *ports.Session) ([]FrontchannelLogout, error) {
	if sess == nil {
		return nil, nil
	}
	sid := SessionSID(sess.ID)
	loggedOut := s.event(ctx, ports.EventLogout, sess.UserID, "", map[string]string{"sid": sid})
	if err := s.store.DeleteSession(ctx, s.settings.tenant, sess.ID, loggedOut); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	// The page waits for nobody: each back-channel delivery waits for its
	// turn on a goroutine of its own.
	return s.sessionEnded(ctx, sess.UserID, sess.ID, func(uri, token string) {
		s.background.Go(func() { s.notifier.send(uri, token) })
	})
}

// sessionEnded tells the relying parties holding tokens from the user's
// session, which has just ended, over the back channel, handing each
// logout token to backchannel, and returns their front-channel logout
// pages.
func (s *sessionService) sessionEnded(ctx context.Context, userID, sessionID string, backchannel func(uri, token string)) ([]FrontchannelLogout, error) {
	clients, err := s.store.SessionClients(ctx, s.settings.tenant, sessionID)
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	sid := SessionSID(sessionID)
	var front []FrontchannelLogout
	for _, id := range clients {
		c, err := s.store.GetClient(ctx, s.settings.tenant, id)
		if err != nil {
			continue
		}
		m := registeredMetadata(c)
		if m.FrontchannelLogoutURI != "" {
			u, err := url.Parse(m.FrontchannelLogoutURI)
			if err == nil {
				// §2: iss and sid let the RP tell which session ended.
				q := u.Query()
				q.Set("iss", s.settings.issuer)
				q.Set("sid", sid)
				u.RawQuery = q.Encode()
				front = append(front, FrontchannelLogout{URL: u.String()})
			}
		}
		if m.BackchannelLogoutURI != "" {
			tok, err := s.logoutToken(c, userID, sid)
			if err != nil {
				return nil, err
			}
			backchannel(m.BackchannelLogoutURI, tok)
		}
	}
	return front, nil
}

// sessionsEnded is sessionEnded for sessions ended away from their
// browsers (a password change, the user's deletion, signing out everywhere
// else): there is no page to load their front-channel logouts in, so only
// the back channel is told. The sessions are gone already, so this runs
// after the request, on one goroutine that takes the sessions in turn and
// waits for a free delivery slot before each logout token: a user with
// thousands of sessions costs the request nothing and the server no more
// than maxLogoutDeliveries connections. A failure is reported to the
// delivery hook, with no URI.
func (s *sessionService) sessionsEnded(ctx context.Context, userID string, sessionIDs []string) {
	if len(sessionIDs) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.background.Go(func() {
		for _, id := range sessionIDs {
			if _, err := s.sessionEnded(ctx, userID, id, s.notifier.send); err != nil && s.notifier.onResult != nil {
				s.notifier.onResult("", err)
			}
		}
	})
}

// logoutToken builds a Back-Channel Logout token (OIDC Back-Channel Logout
// §2.4).
func (s *sessionService) logoutToken(c *ports.Client, sub, sid string) (string, error) {
	now := s.clock.Now()
	claims := map[string]any{
		"iss": s.settings.issuer, "aud": c.ID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": secret.Random(16), "sub": sub, "sid": sid,
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
	tok, err := s.keys.Sign(s.mint.idTokenAlg(c), "logout+jwt", claims)
	if err != nil {
		return "", ErrServerError.Wrap(err)
	}
	return tok, nil
}

// maxLogoutDeliveries bounds the back-channel logout deliveries in flight
// at once.
const maxLogoutDeliveries = 16

// notifier delivers back-channel logout tokens.
type notifier struct {
	client   *http.Client
	attempts int
	backoff  time.Duration
	onResult func(uri string, err error)
	// slots holds one value per delivery in flight (see send).
	slots chan struct{}
	work  *backgroundWork
	// shutdown ends the pauses between attempts, and the retries with
	// them; nil: never.
	shutdown <-chan struct{}
}

func newNotifier(client *http.Client, onResult func(uri string, err error), work *backgroundWork) *notifier {
	return &notifier{client: client, attempts: 4, backoff: 500 * time.Millisecond, onResult: onResult,
		slots: make(chan struct{}, maxLogoutDeliveries), work: work, shutdown: work.shutdown}
}

// send waits for a free delivery slot, then notifies uri of the logout
// in the background. Callers run it as background work, so the delivery
// it starts is counted before send itself stops being, and Drain never
// sees the count at zero in between.
func (n *notifier) send(uri, token string) {
	n.slots <- struct{}{}
	n.work.Go(func() {
		defer func() { <-n.slots }()
		n.notify(uri, token)
	})
}

// notify POSTs the logout token (OIDC Back-Channel Logout §2.5), retrying
// with backoff: a relying party that is briefly down still learns of the
// logout.
func (n *notifier) notify(uri, token string) {
	err := n.deliver(uri, "application/x-www-form-urlencoded", "logout_token="+url.QueryEscape(token), "")
	if n.onResult != nil {
		n.onResult(uri, err)
	}
}

// deliver POSTs body to uri until it answers 2xx, at most n.attempts
// times with doubling pauses, with bearer as the Authorization when set.
// Once the server is shutting down it makes no further attempt: the
// shutdown has a budget, which a relying party that is down would
// otherwise spend on pauses.
func (n *notifier) deliver(uri, contentType, body, bearer string) error {
	var err error
	for attempt := 0; attempt < n.attempts; attempt++ {
		if attempt > 0 && !pause(n.backoff<<(attempt-1), n.shutdown) {
			return fmt.Errorf("%w (not retried: the server is shutting down)", err)
		}
		if err = n.post(uri, contentType, body, bearer); err == nil {
			break
		}
	}
	return err
}

func (n *notifier) post(uri, contentType, body, bearer string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close() // the status is the answer; the body is not read
	if resp.StatusCode/100 != 2 {
		return errors.New(uri + " answered " + resp.Status)
	}
	return nil
}

// EndSessionEndpoint is the RP-initiated logout endpoint URL.
func (p *Provider) EndSessionEndpoint() string { return p.cfg.Issuer + "/oauth/logout" }
