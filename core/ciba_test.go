package core

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// stepClock is a clock a test moves forward.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// noticeBox is a CIBANotifier that hands every notice to the test.
type noticeBox struct{ ch chan ports.CIBANotice }

func (b noticeBox) NotifyCIBA(_ context.Context, n ports.CIBANotice) error {
	b.ch <- n
	return nil
}

// cibaFixture is a provider with CIBA on, two users and clients of every
// kind the tests need.
type cibaFixture struct {
	p        *Provider
	store    *testStore
	clock    *stepClock
	notices  chan ports.CIBANotice
	outcomes chan string // "kind: error or ok" of each delivery
	alice    *ports.User
	bob      *ports.User
	kiosk    ClientCredentials
	other    ClientCredentials
}

const cibaSecret = "ciba-client-secret-0123456789"

func newCIBAFixture(t testing.TB, pingEndpoint string) *cibaFixture {
	t.Helper()
	ctx := context.Background()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	secrets, _ := secret.NewKeyed(bytes.Repeat([]byte{0x33}, 32))
	sealer, _ := secret.NewSealer(bytes.Repeat([]byte{0x44}, 32))
	f := &cibaFixture{
		store: newTestStore(), clock: &stepClock{now: testNow},
		notices: make(chan ports.CIBANotice, 16), outcomes: make(chan string, 16),
	}
	// The test's ping receiver listens on loopback.
	f.p, err = New(withTestSettings(Config{Issuer: "https://id.example.com", OutboundPrivateNetworks: loopbackNetworks}), Deps{
		Store: f.store, Keys: keys, Clock: f.clock, Secrets: secrets, Sealer: sealer,
		Passwords:    secret.Argon2id{Memory: 64, Time: 1, Threads: 1},
		CIBANotifier: noticeBox{f.notices},
		OnCIBADelivery: func(kind string, err error) {
			outcome := "ok"
			if err != nil {
				outcome = err.Error()
			}
			f.outcomes <- kind + ": " + outcome
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.p.notifier.backoff = time.Millisecond
	f.alice = &ports.User{ID: "user-alice", Username: "alice", Name: "Alice", Email: "alice@example.com"}
	f.bob = &ports.User{ID: "user-bob", Username: "bob"}
	for _, u := range []*ports.User{f.alice, f.bob} {
		if err := f.p.CreateUser(ctx, u, "password-of-"+u.Username); err != nil {
			t.Fatal(err)
		}
	}
	clients := map[string]string{
		"poll-client":  `{"client_name":"Kiosk","grant_types":["` + GrantCIBA + `","refresh_token"],"backchannel_token_delivery_mode":"poll","scope":"openid profile email offline_access"}`,
		"other-client": `{"grant_types":["` + GrantCIBA + `"],"backchannel_token_delivery_mode":"poll","scope":"openid"}`,
		"code-client":  `{"redirect_uris":["https://app.example/cb"],"scope":"openid"}`,
	}
	if pingEndpoint != "" {
		clients["ping-client"] = `{"grant_types":["` + GrantCIBA + `"],"backchannel_token_delivery_mode":"ping",
			"backchannel_client_notification_endpoint":"` + pingEndpoint + `","scope":"openid"}`
	}
	for id, meta := range clients {
		if _, err := f.p.EnsureClient(ctx, id, cibaSecret, []byte(meta)); err != nil {
			t.Fatalf("client %s: %v", id, err)
		}
	}
	f.kiosk = creds("poll-client")
	f.other = creds("other-client")
	return f
}

func creds(id string) ClientCredentials {
	return ClientCredentials{ID: id, Secret: cibaSecret, Method: ports.AuthMethodSecretBasic}
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func errCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return "not a protocol error: " + err.Error()
}

// start makes a backchannel authentication request and returns the
// acknowledgement and the notice it sent.
func (f *cibaFixture) start(t *testing.T, cred ClientCredentials, params url.Values) (*BackchannelAuthentication, ports.CIBANotice) {
	t.Helper()
	ack, err := f.p.AuthenticateBackchannel(context.Background(), cred, params)
	if err != nil {
		t.Fatalf("AuthenticateBackchannel: %v", err)
	}
	select {
	case n := <-f.notices:
		return ack, n
	case <-time.After(10 * time.Second):
		t.Fatal("no notice reached the authentication device")
	}
	return nil, ports.CIBANotice{}
}

func decisionID(t *testing.T, n ports.CIBANotice) string {
	t.Helper()
	u, err := url.Parse(n.DecisionURL)
	if err != nil || u.Query().Get("id") == "" {
		t.Fatalf("decision URL %q carries no id", n.DecisionURL)
	}
	return u.Query().Get("id")
}

func (f *cibaFixture) session(t *testing.T, u *ports.User) *ports.Session {
	t.Helper()
	s, err := f.p.StartSession(context.Background(), u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *cibaFixture) poll(cred ClientCredentials, authReqID string) (*TokenResponse, error) {
	return f.p.Token(context.Background(), TokenRequest{Client: cred, Form: form("grant_type", GrantCIBA, "auth_req_id", authReqID)})
}

func TestBackchannelAuthenticationRequestRefusals(t *testing.T) {
	f := newCIBAFixture(t, "https://rp.example/ciba")
	ctx := context.Background()
	idToken := f.idTokenFor(t, "poll-client", f.alice.ID)
	tests := []struct {
		name   string
		cred   ClientCredentials
		params url.Values
		want   string
	}{
		{"no hint", f.kiosk, form("scope", "openid"), "invalid_request"},
		{"two hints", f.kiosk, form("scope", "openid", "login_hint", "alice", "id_token_hint", idToken), "invalid_request"},
		{"login_hint_token is not supported", f.kiosk, form("scope", "openid", "login_hint_token", "eyJ.x.y"), "invalid_request"},
		{"unknown user", f.kiosk, form("scope", "openid", "login_hint", "mallory"), "unknown_user_id"},
		{"blank login_hint", f.kiosk, form("scope", "openid", "login_hint", "  "), "unknown_user_id"},
		{"scope without openid", f.kiosk, form("scope", "profile", "login_hint", "alice"), "invalid_scope"},
		{"no scope", f.kiosk, form("login_hint", "alice"), "invalid_scope"},
		{"scope the client may not request", f.kiosk, form("scope", "openid admin", "login_hint", "alice"), "invalid_scope"},
		{"scope with invalid characters", f.kiosk, form("scope", "openid \"x\"", "login_hint", "alice"), "invalid_scope"},
		{"binding message too long", f.kiosk, form("scope", "openid", "login_hint", "alice", "binding_message", strings.Repeat("x", MaxBindingMessage+1)), "invalid_binding_message"},
		{"binding message on two lines", f.kiosk, form("scope", "openid", "login_hint", "alice", "binding_message", "a\nb"), "invalid_binding_message"},
		{"binding message that is not UTF-8", f.kiosk, form("scope", "openid", "login_hint", "alice", "binding_message", "\xff\xfe"), "invalid_binding_message"},
		{"user_code is not supported", f.kiosk, form("scope", "openid", "login_hint", "alice", "user_code", "1234"), "invalid_request"},
		{"requested_expiry of zero", f.kiosk, form("scope", "openid", "login_hint", "alice", "requested_expiry", "0"), "invalid_request"},
		{"negative requested_expiry", f.kiosk, form("scope", "openid", "login_hint", "alice", "requested_expiry", "-5"), "invalid_request"},
		{"requested_expiry in words", f.kiosk, form("scope", "openid", "login_hint", "alice", "requested_expiry", "soon"), "invalid_request"},
		{"signed request", f.kiosk, form("scope", "openid", "login_hint", "alice", "request", "eyJ.x.y"), "invalid_request"},
		{"repeated parameter", f.kiosk, form("scope", "openid", "login_hint", "alice", "login_hint", "bob"), "invalid_request"},
		{"ping mode without client_notification_token", creds("ping-client"), form("scope", "openid", "login_hint", "alice"), "invalid_request"},
		{"client_notification_token with header characters", creds("ping-client"), form("scope", "openid", "login_hint", "alice", "client_notification_token", "abc\r\nX-Evil: 1"), "invalid_request"},
		{"client_notification_token over 1024 characters", creds("ping-client"), form("scope", "openid", "login_hint", "alice", "client_notification_token", strings.Repeat("a", 1025)), "invalid_request"},
		{"client not registered for CIBA", creds("code-client"), form("scope", "openid", "login_hint", "alice"), "unauthorized_client"},
		{"wrong client secret", ClientCredentials{ID: "poll-client", Secret: "wrong", Method: ports.AuthMethodSecretBasic}, form("scope", "openid", "login_hint", "alice"), "invalid_client"},
		{"unknown client", ClientCredentials{ID: "nobody", Secret: cibaSecret, Method: ports.AuthMethodSecretBasic}, form("scope", "openid", "login_hint", "alice"), "invalid_client"},
		{"id_token_hint that is not a JWT", f.kiosk, form("scope", "openid", "id_token_hint", "not-a-token"), "invalid_request"},
		{"id_token_hint issued to another client", f.kiosk, form("scope", "openid", "id_token_hint", f.idTokenFor(t, "other-client", f.alice.ID)), "invalid_request"},
		{"access token as id_token_hint", f.kiosk, form("scope", "openid", "id_token_hint", f.accessTokenFor(t, f.alice.ID)), "invalid_request"},
		{"id_token_hint with a forged signature", f.kiosk, form("scope", "openid", "id_token_hint", forge(idToken)), "invalid_request"},
		{"id_token_hint of a deleted user", f.kiosk, form("scope", "openid", "id_token_hint", f.idTokenFor(t, "poll-client", "user-gone")), "unknown_user_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.store.eventTypes())
			_, err := f.p.AuthenticateBackchannel(ctx, tt.cred, tt.params)
			if got := errCode(err); got != tt.want {
				t.Fatalf("error = %v, want %s", err, tt.want)
			}
			if got := f.store.eventTypes()[before:]; len(got) != 0 {
				t.Errorf("a refused request stored events %v", got)
			}
			select {
			case n := <-f.notices:
				t.Errorf("a refused request notified the device: %+v", n)
			default:
			}
		})
	}
}

// idTokenFor signs an ID token as the server does for a client.
func (f *cibaFixture) idTokenFor(t testing.TB, clientID, sub string) string {
	t.Helper()
	tok, err := f.p.keys.Sign(f.p.cfg.IDTokenAlg, "JWT", idTokenClaims{
		Iss: f.p.cfg.Issuer, Sub: sub, Aud: clientID, Iat: testNow.Unix(), Exp: testNow.Add(-time.Minute).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *cibaFixture) accessTokenFor(t testing.TB, sub string) string {
	t.Helper()
	tok, err := f.p.keys.Sign(f.p.cfg.AccessTokenAlg, "at+jwt", accessClaims{
		Iss: f.p.cfg.Issuer, Sub: sub, Aud: audienceClaim{"poll-client"}, ClientID: "poll-client", Exp: testNow.Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// forge swaps the payload of a signed token for one naming another user.
func forge(tok string) string {
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://id.example.com","sub":"user-bob","aud":"poll-client"}`))
	return strings.Join(parts, ".")
}

func TestBackchannelAuthenticationAcknowledgement(t *testing.T) {
	f := newCIBAFixture(t, "")
	tests := []struct {
		name       string
		params     url.Values
		wantUser   *ports.User
		wantExpiry int64
		wantMsg    string
	}{
		{"login_hint names the user by username", form("scope", "openid profile", "login_hint", "alice", "binding_message", "Kiosk 7: 42 €"), f.alice, 300, "Kiosk 7: 42 €"},
		{"id_token_hint names the user, even once expired", form("scope", "openid", "id_token_hint", f.idTokenFor(t, "poll-client", f.bob.ID)), f.bob, 300, ""},
		{"requested_expiry shortens the request", form("scope", "openid", "login_hint", "alice", "requested_expiry", "60"), f.alice, 60, ""},
		{"requested_expiry beyond the maximum is capped", form("scope", "openid", "login_hint", "alice", "requested_expiry", "86400"), f.alice, 600, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.store.committed())
			ack, n := f.start(t, f.kiosk, tt.params)
			if len(ack.AuthReqID) < 40 || ack.ExpiresIn != tt.wantExpiry || ack.Interval != 5 {
				t.Fatalf("acknowledgement = %+v", ack)
			}
			if n.UserID != tt.wantUser.ID || n.Username != tt.wantUser.Username || n.ClientID != "poll-client" ||
				n.ClientName != "Kiosk" || n.BindingMessage != tt.wantMsg || n.ID == "" ||
				!n.ExpiresAt.Equal(testNow.Add(time.Duration(tt.wantExpiry)*time.Second)) {
				t.Fatalf("notice = %+v", n)
			}
			if !strings.HasPrefix(n.DecisionURL, "https://id.example.com/ciba?id=") {
				t.Fatalf("decision URL = %q", n.DecisionURL)
			}
			noticeJSON, _ := json.Marshal(n)
			if strings.Contains(string(noticeJSON), ack.AuthReqID) || strings.Contains(string(noticeJSON), secret.Digest(ack.AuthReqID)) {
				t.Fatal("the notice to the user's device carries the auth_req_id")
			}
			if _, err := f.store.PollCIBARequest(context.Background(), ports.DefaultTenant, ack.AuthReqID, testNow); !errors.Is(err, ports.ErrNotFound) {
				t.Fatal("the auth_req_id is stored in clear")
			}
			evs := f.store.committed()[before:]
			if len(evs) != 1 || evs[0].Type != ports.EventCIBARequested || evs[0].Subject != tt.wantUser.ID ||
				evs[0].ClientID != "poll-client" || evs[0].Data["delivery_mode"] != ports.CIBAModePoll {
				t.Fatalf("events = %+v", evs)
			}
			if got := <-f.outcomes; got != "device: ok" {
				t.Fatalf("delivery outcome = %q", got)
			}
		})
	}
}

func TestCIBAPollMode(t *testing.T) {
	f := newCIBAFixture(t, "")
	ctx := context.Background()
	ack, n := f.start(t, f.kiosk, form("scope", "openid profile email offline_access", "login_hint", "alice", "binding_message", "W4SCT"))
	id := decisionID(t, n)

	t.Run("an early poll is authorization_pending, an immediate second slow_down", func(t *testing.T) {
		if _, err := f.poll(f.kiosk, ack.AuthReqID); errCode(err) != "authorization_pending" {
			t.Fatalf("first poll: %v", err)
		}
		if _, err := f.poll(f.kiosk, ack.AuthReqID); errCode(err) != "slow_down" {
			t.Fatalf("second poll: %v", err)
		}
		f.clock.advance(5 * time.Second)
		if _, err := f.poll(f.kiosk, ack.AuthReqID); errCode(err) != "authorization_pending" {
			t.Fatalf("poll after the interval: %v", err)
		}
	})
	t.Run("the decision page shows the request to the user it names", func(t *testing.T) {
		pending, ok, err := f.p.LookupCIBA(ctx, id)
		if err != nil || !ok {
			t.Fatalf("LookupCIBA: %v %v", ok, err)
		}
		if pending.Client.ID != "poll-client" || pending.BindingMessage != "W4SCT" || pending.UserID != f.alice.ID ||
			!slices.Equal(pending.Scopes, []string{"openid", "profile", "email", "offline_access"}) {
			t.Fatalf("pending = %+v", pending)
		}
		if _, ok, _ := f.p.LookupCIBA(ctx, ack.AuthReqID); ok {
			t.Fatal("the auth_req_id opens the decision page")
		}
	})
	t.Run("another user cannot decide it", func(t *testing.T) {
		if err := f.p.DecideCIBA(ctx, id, f.session(t, f.bob), true); errCode(err) != "access_denied" {
			t.Fatalf("DecideCIBA by bob: %v", err)
		}
		f.clock.advance(5 * time.Second)
		if _, err := f.poll(f.kiosk, ack.AuthReqID); errCode(err) != "authorization_pending" {
			t.Fatalf("poll after bob's attempt: %v", err)
		}
	})
	sess := f.session(t, f.alice)
	before := len(f.store.committed())
	if err := f.p.DecideCIBA(ctx, id, sess, true); err != nil {
		t.Fatalf("DecideCIBA: %v", err)
	}
	// The approval's consent is stored with the decision, in one change.
	if evs := f.store.committed()[before:]; len(evs) != 2 ||
		evs[0].Type != ports.EventConsentGranted || evs[0].Data["flow"] != "ciba" || evs[0].ClientID != f.kiosk.ID ||
		evs[1].Type != ports.EventCIBADecided || evs[1].Data["decision"] != "approved" || evs[1].Subject != f.alice.ID {
		t.Fatalf("decision events = %+v", evs)
	}
	if c, err := f.store.GetConsent(ctx, ports.DefaultTenant, f.alice.ID, f.kiosk.ID); err != nil || c.Scope == "" {
		t.Fatalf("the consent of the approval: %+v, %v", c, err)
	}
	t.Run("a decided request cannot be decided again", func(t *testing.T) {
		if err := f.p.DecideCIBA(ctx, id, sess, false); errCode(err) != "invalid_request" {
			t.Fatalf("second DecideCIBA: %v", err)
		}
		if _, ok, _ := f.p.LookupCIBA(ctx, id); ok {
			t.Fatal("a decided request is still offered for decision")
		}
	})
	t.Run("another client's poll is invalid_grant", func(t *testing.T) {
		f.clock.advance(5 * time.Second)
		if _, err := f.poll(f.other, ack.AuthReqID); errCode(err) != "invalid_grant" {
			t.Fatalf("poll by another client: %v", err)
		}
	})
	f.clock.advance(5 * time.Second)
	before = len(f.store.committed())
	tok, err := f.poll(f.kiosk, ack.AuthReqID)
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	t.Run("tokens are issued like those of other grants", func(t *testing.T) {
		if tok.AccessToken == "" || tok.RefreshToken == "" || tok.IDToken == "" || tok.Scope != "openid profile email offline_access" {
			t.Fatalf("token response = %+v", tok)
		}
		_, payload, err := f.p.keys.Verify(tok.IDToken)
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		_ = json.Unmarshal(payload, &claims)
		if claims["sub"] != f.alice.ID || claims["aud"] != "poll-client" || claims["at_hash"] != halfHash(f.p.cfg.IDTokenAlg, tok.AccessToken) ||
			claims["auth_time"] != float64(sess.AuthTime.Unix()) || claims["email"] != "alice@example.com" || claims["nonce"] != nil {
			t.Fatalf("ID token claims = %v", claims)
		}
		for k := range claims {
			if strings.Contains(k, "auth_req_id") {
				t.Fatalf("the ID token carries %s", k)
			}
		}
		evs := f.store.committed()[before:]
		if len(evs) != 1 || evs[0].Type != ports.EventTokenIssued || evs[0].Data["grant_type"] != GrantCIBA {
			t.Fatalf("token events = %+v", evs)
		}
	})
	t.Run("the auth_req_id works once", func(t *testing.T) {
		f.clock.advance(5 * time.Second)
		if _, err := f.poll(f.kiosk, ack.AuthReqID); errCode(err) != "invalid_grant" {
			t.Fatalf("second redemption: %v", err)
		}
	})
	t.Run("an unknown auth_req_id is invalid_grant and a missing one invalid_request", func(t *testing.T) {
		if _, err := f.poll(f.kiosk, "no-such-request"); errCode(err) != "invalid_grant" {
			t.Fatalf("unknown: %v", err)
		}
		if _, err := f.poll(f.kiosk, ""); errCode(err) != "invalid_request" {
			t.Fatalf("missing: %v", err)
		}
	})
	t.Run("the refresh token rotates", func(t *testing.T) {
		if _, err := f.p.Token(ctx, TokenRequest{Client: f.kiosk, Form: form("grant_type", GrantRefreshToken, "refresh_token", tok.RefreshToken)}); err != nil {
			t.Fatalf("refresh: %v", err)
		}
	})
}

func TestCIBADenialAndExpiry(t *testing.T) {
	ctx := context.Background()
	t.Run("a denied request ends with access_denied", func(t *testing.T) {
		f := newCIBAFixture(t, "")
		ack, n := f.start(t, f.kiosk, form("scope", "openid", "login_hint", "alice"))
		if err := f.p.DecideCIBA(ctx, decisionID(t, n), f.session(t, f.alice), false); err != nil {
			t.Fatal(err)
		}
		_, err := f.poll(f.kiosk, ack.AuthReqID)
		var e *Error
		if !errors.As(err, &e) || e.Code != "access_denied" || e.Status != 400 {
			t.Fatalf("poll after denial: %v", err)
		}
	})
	t.Run("an expired request is expired_token and can no longer be decided", func(t *testing.T) {
		f := newCIBAFixture(t, "")
		ack, n := f.start(t, f.kiosk, form("scope", "openid", "login_hint", "alice", "requested_expiry", "30"))
		f.clock.advance(30 * time.Second)
		if _, err := f.poll(f.kiosk, ack.AuthReqID); errCode(err) != "expired_token" {
			t.Fatalf("poll after expiry: %v", err)
		}
		if err := f.p.DecideCIBA(ctx, decisionID(t, n), f.session(t, f.alice), true); errCode(err) != "invalid_request" {
			t.Fatalf("decision after expiry: %v", err)
		}
	})
	t.Run("an approved request collected too late is expired_token", func(t *testing.T) {
		f := newCIBAFixture(t, "")
		ack, n := f.start(t, f.kiosk, form("scope", "openid", "login_hint", "alice", "requested_expiry", "30"))
		if err := f.p.DecideCIBA(ctx, decisionID(t, n), f.session(t, f.alice), true); err != nil {
			t.Fatal(err)
		}
		f.clock.advance(31 * time.Second)
		if _, err := f.poll(f.kiosk, ack.AuthReqID); errCode(err) != "expired_token" {
			t.Fatalf("poll after expiry: %v", err)
		}
	})
}

func TestCIBAPingMode(t *testing.T) {
	type ping struct {
		auth, contentType string
		body              map[string]string
	}
	pings := make(chan ping, 4)
	var failFirst sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]string
		_ = json.Unmarshal(b, &body)
		pings <- ping{auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), body: body}
		// The first attempt fails: the ping must be retried.
		failed := false
		failFirst.Do(func() { failed = true })
		if failed {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	f := newCIBAFixture(t, srv.URL+"/ciba-callback")
	f.p.notifier.client = srv.Client()
	ctx := context.Background()
	ping1 := creds("ping-client")
	token := "bm90aWZpY2F0aW9uLXRva2Vu-8Gq~x/y+z=="
	ack, n := f.start(t, ping1, form("scope", "openid", "login_hint", "alice", "client_notification_token", token))
	<-f.outcomes
	if ack.Interval != 5 {
		t.Fatalf("acknowledgement = %+v", ack)
	}
	rec, err := f.store.PollCIBARequest(ctx, ports.DefaultTenant, secret.Digest(ack.AuthReqID), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.Ping, []byte(token)) || bytes.Contains(rec.Ping, []byte(ack.AuthReqID)) {
		t.Fatal("the ping secrets are stored in clear")
	}
	select {
	case p := <-pings:
		t.Fatalf("the client was pinged before the user decided: %+v", p)
	default:
	}
	if err := f.p.DecideCIBA(ctx, decisionID(t, n), f.session(t, f.alice), true); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		p := <-pings
		if p.auth != "Bearer "+token || p.contentType != "application/json" || len(p.body) != 1 || p.body["auth_req_id"] != ack.AuthReqID {
			t.Fatalf("ping attempt %d = %+v", attempt, p)
		}
	}
	if got := <-f.outcomes; got != "ping: ok" {
		t.Fatalf("ping outcome = %q", got)
	}
	f.clock.advance(5 * time.Second)
	if tok, err := f.poll(ping1, ack.AuthReqID); err != nil || tok.IDToken == "" {
		t.Fatalf("token request after the ping: %v", err)
	}
}

func TestCIBARegistration(t *testing.T) {
	f := newCIBAFixture(t, "")
	g := `"grant_types":["` + GrantCIBA + `"]`
	tests := []struct {
		name    string
		meta    string
		wantErr string // part of the description; "" when accepted
	}{
		{"poll client", `{` + g + `,"backchannel_token_delivery_mode":"poll"}`, ""},
		{"ping client with an https endpoint", `{` + g + `,"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://rp.example/cb"}`, ""},
		{"ping client with a loopback http endpoint", `{` + g + `,"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"http://127.0.0.1:9000/cb"}`, ""},
		{"ping endpoint on a private address", `{` + g + `,"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://10.0.0.7/cb"}`, "must lead to a public address"},
		{"CIBA and refresh tokens", `{"grant_types":["` + GrantCIBA + `","refresh_token"],"backchannel_token_delivery_mode":"poll"}`, ""},
		{"no delivery mode", `{` + g + `}`, "needs backchannel_token_delivery_mode"},
		{"push mode", `{` + g + `,"backchannel_token_delivery_mode":"push","backchannel_client_notification_endpoint":"https://rp.example/cb"}`, "push is not supported"},
		{"unknown mode", `{` + g + `,"backchannel_token_delivery_mode":"carrier-pigeon"}`, "must be poll or ping"},
		{"ping without endpoint", `{` + g + `,"backchannel_token_delivery_mode":"ping"}`, "needs a backchannel_client_notification_endpoint"},
		{"ping to plain http", `{` + g + `,"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"http://rp.example/cb"}`, "must be an https URL"},
		{"endpoint with a fragment", `{` + g + `,"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://rp.example/cb#x"}`, "must be an https URL"},
		{"endpoint with credentials", `{` + g + `,"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://u:p@rp.example/cb"}`, "must be an https URL"},
		{"signed requests", `{` + g + `,"backchannel_token_delivery_mode":"poll","backchannel_authentication_request_signing_alg":"ES256"}`, "not supported"},
		{"user code parameter", `{` + g + `,"backchannel_token_delivery_mode":"poll","backchannel_user_code_parameter":true}`, "backchannel_user_code_parameter is not supported"},
		{"public client", `{` + g + `,"backchannel_token_delivery_mode":"poll","token_endpoint_auth_method":"none"}`, "public clients cannot use the CIBA grant"},
		{"CIBA metadata without the grant", `{"grant_types":["client_credentials"],"backchannel_token_delivery_mode":"poll"}`, "needs the grant type"},
		{"delivery mode of the wrong type", `{` + g + `,"backchannel_token_delivery_mode":1}`, "backchannel_token_delivery_mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.p.buildClient([]byte(tt.meta))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !c.HasGrantType(GrantCIBA) || c.Scope != "openid profile email offline_access" {
					t.Fatalf("client = %+v", c)
				}
				return
			}
			if errCode(err) != "invalid_client_metadata" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want invalid_client_metadata mentioning %q", err, tt.wantErr)
			}
		})
	}
	t.Run("without a sealer ping mode is refused", func(t *testing.T) {
		f.p.decisionService.sealer = nil
		defer func() { f.p.decisionService.sealer, _ = secret.NewSealer(bytes.Repeat([]byte{0x44}, 32)) }()
		_, err := f.p.buildClient([]byte(`{` + g + `,"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"https://rp.example/cb"}`))
		if err == nil || !strings.Contains(err.Error(), "ping is not supported") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestCIBADiscovery(t *testing.T) {
	t.Run("with a notifier CIBA is advertised as it works", func(t *testing.T) {
		m := newCIBAFixture(t, "").p.Metadata()
		checks := map[string]any{
			"backchannel_authentication_endpoint":        "https://id.example.com/oauth/bc-authorize",
			"backchannel_token_delivery_modes_supported": []string{"poll", "ping"},
			"backchannel_user_code_parameter_supported":  false,
		}
		for k, want := range checks {
			got, _ := json.Marshal(m[k])
			w, _ := json.Marshal(want)
			if string(got) != string(w) {
				t.Errorf("%s = %s, want %s", k, got, w)
			}
		}
		if _, ok := m["backchannel_authentication_request_signing_alg_values_supported"]; ok {
			t.Error("signed authentication requests are advertised")
		}
		if !slices.Contains(m["grant_types_supported"].([]string), GrantCIBA) {
			t.Error("the CIBA grant type is not advertised")
		}
	})
	t.Run("without a notifier nothing of CIBA is advertised or served", func(t *testing.T) {
		p, _ := newTestProvider(t, Config{})
		m := p.Metadata()
		for k := range m {
			if strings.HasPrefix(k, "backchannel_authentication") || strings.HasPrefix(k, "backchannel_token") {
				t.Errorf("%s is advertised", k)
			}
		}
		if slices.Contains(m["grant_types_supported"].([]string), GrantCIBA) {
			t.Error("the CIBA grant type is advertised")
		}
		if _, err := p.AuthenticateBackchannel(context.Background(), creds("x"), form("scope", "openid", "login_hint", "alice")); errCode(err) != "invalid_request" {
			t.Errorf("AuthenticateBackchannel = %v", err)
		}
	})
}
