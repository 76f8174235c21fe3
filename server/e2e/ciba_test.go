package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"oauth2-server.dev/core"
	"oauth2-server.dev/events/webhook"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/server/internal/cibanotify"
)

// cibaWebhookSecret is shared by the server's webhook notifier and the
// test's authentication-device service.
const cibaWebhookSecret = "ciba-webhook-secret-for-the-tests"

// offsetClock is the wall clock moved forward by what the test advances,
// so that polling intervals and expiries pass without waiting.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ports.SystemClock{}.Now().Add(c.offset)
}

func (c *offsetClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// notice is one notice the device service received.
type notice struct {
	cibanotify.Payload
	raw string
}

// deviceService stands for the operator's push service: the server's
// webhook notifier POSTs notices to it, and it checks each signature
// before handing the notice on, as a receiver must.
type deviceService struct {
	srv     *httptest.Server
	notices chan notice
}

func newDeviceService(t *testing.T) *deviceService {
	d := &deviceService{notices: make(chan notice, 16)}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(webhook.SignatureHeader)
		if err := webhook.Verify([]byte(cibaWebhookSecret), sig, body, time.Now(), webhook.DefaultTolerance); err != nil {
			t.Errorf("notice with a bad signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if webhook.Verify([]byte("some-other-secret-of-16+"), sig, body, time.Now(), webhook.DefaultTolerance) == nil {
			t.Error("the notice's signature verifies under another secret")
		}
		var p cibanotify.Payload
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &p) != nil {
			t.Errorf("notice is not a JSON POST: %s %s %q", r.Method, r.Header.Get("Content-Type"), body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		d.notices <- notice{Payload: p, raw: string(body)}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(d.srv.Close)
	return d
}

// next returns the next notice, failing if none comes.
func (d *deviceService) next(t *testing.T) notice {
	t.Helper()
	select {
	case n := <-d.notices:
		return n
	case <-time.After(15 * time.Second):
		t.Fatal("no notice reached the authentication device")
	}
	return notice{}
}

type cibaServer struct {
	*testServer
	device *deviceService
	clock  *offsetClock
}

// startCIBAServer starts a server whose webhook notifier reaches a device
// service of the test, on a clock the test advances. The janitor runs once
// at start only, so expired requests stay for the test to see.
func startCIBAServer(t *testing.T, backend string) *cibaServer {
	t.Helper()
	d := newDeviceService(t)
	clock := &offsetClock{}
	s := startServerWith(t, backend, map[string]string{
		"OAUTH2_CIBA_NOTIFIER":       "webhook",
		"OAUTH2_CIBA_WEBHOOK_URL":    d.srv.URL + "/notices",
		"OAUTH2_CIBA_WEBHOOK_SECRET": cibaWebhookSecret,
		"OAUTH2_JANITOR_INTERVAL":    "1h",
		// Clients' ping endpoints are on this machine.
		"OAUTH2_OUTBOUND_PRIVATE_NETWORKS": "127.0.0.0/8",
		"OAUTH2_ALLOW_LOCAL_OUTBOUND":      "1",
	}, clock)
	return &cibaServer{testServer: s, device: d, clock: clock}
}

const cibaPollMetadata = `{"client_name":"Kiosk","grant_types":["` + core.GrantCIBA + `","refresh_token"],
	"backchannel_token_delivery_mode":"poll","scope":"openid profile email offline_access",
	"token_endpoint_auth_method":"client_secret_basic"}`

func cibaPingMetadata(endpoint string) string {
	return `{"client_name":"Checkout","grant_types":["` + core.GrantCIBA + `"],
		"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"` + endpoint + `",
		"scope":"openid profile","token_endpoint_auth_method":"client_secret_post"}`
}

// clientPost posts form to an endpoint with the client authentication the
// client registered: client_secret_post or HTTP Basic.
func clientPost(t *testing.T, endpoint string, c registered, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	if c.Raw["token_endpoint_auth_method"] == "client_secret_post" {
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
		return postForm(t, endpoint, form, "", "")
	}
	return postForm(t, endpoint, form, c.ID, c.Secret)
}

// authenticate posts a backchannel authentication request.
func (s *cibaServer) authenticate(t *testing.T, c registered, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	return clientPost(t, s.issuer+"/oauth/bc-authorize", c, form)
}

// start makes a request that must be acknowledged and returns its
// auth_req_id and the notice the user's device received.
func (s *cibaServer) start(t *testing.T, c registered, form url.Values) (string, notice) {
	t.Helper()
	resp, m := s.authenticate(t, c, form)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("backchannel authentication: %d %v", resp.StatusCode, m)
	}
	id, _ := m["auth_req_id"].(string)
	if len(id) < 40 || m["interval"] != float64(5) {
		t.Fatalf("acknowledgement = %v", m)
	}
	n := s.device.next(t)
	if strings.Contains(n.raw, id) {
		t.Fatal("the notice to the user's device carries the auth_req_id")
	}
	return id, n
}

// collect asks the token endpoint for the tokens of authReqID, with the
// client's registered authentication.
func (s *cibaServer) collect(t *testing.T, c registered, authReqID string) (int, map[string]any) {
	t.Helper()
	resp, m := clientPost(t, s.issuer+"/oauth/token", c, url.Values{"grant_type": {core.GrantCIBA}, "auth_req_id": {authReqID}})
	return resp.StatusCode, m
}

// answer opens the notice's decision page in a fresh browser, signs in as
// the test user, checks what the page shows, and presses decision.
func (s *cibaServer) answer(t *testing.T, n notice, decision string, shows ...string) page {
	t.Helper()
	b := newBrowser(t, s.testServer)
	p := b.get(n.DecisionURL)
	p = b.login(p, testUser, testPassword)
	if p.status != http.StatusOK || p.url.Path != "/ciba" || !strings.Contains(p.body, `value="approve"`) {
		t.Fatalf("after signing in: %d %s\n%s", p.status, p.url, p.body)
	}
	for _, want := range shows {
		if !strings.Contains(p.body, want) {
			t.Fatalf("the decision page does not show %q:\n%s", want, p.body)
		}
	}
	form := p.hidden()
	form.Set("decision", decision)
	return b.post(s.issuer+"/ciba", form)
}

func TestCIBAPollMode(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			s := startCIBAServer(t, backend)
			provider, err := oidc.NewProvider(ctx, s.issuer)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("discovery advertises CIBA as it works", func(t *testing.T) {
				var m map[string]any
				if err := provider.Claims(&m); err != nil {
					t.Fatal(err)
				}
				if m["backchannel_authentication_endpoint"] != s.issuer+"/oauth/bc-authorize" ||
					!equalList(m["backchannel_token_delivery_modes_supported"], "poll", "ping") ||
					m["backchannel_user_code_parameter_supported"] != false ||
					m["backchannel_authentication_request_signing_alg_values_supported"] != nil {
					t.Fatalf("CIBA metadata = %v", m)
				}
				if gts, _ := m["grant_types_supported"].([]any); !slices.Contains(gts, any(core.GrantCIBA)) {
					t.Fatalf("grant_types_supported = %v", gts)
				}
			})

			c := s.register(t, cibaPollMetadata)
			id, n := s.start(t, c, url.Values{"scope": {"openid profile email offline_access"}, "login_hint": {testUser}, "binding_message": {"Kiosk 4: 1234"}})
			if n.Username != testUser || n.ClientID != c.ID || n.ClientName != "Kiosk" || n.BindingMessage != "Kiosk 4: 1234" ||
				!strings.HasPrefix(n.DecisionURL, s.issuer+"/ciba?id=") || n.ID == "" || n.ExpiresAt.IsZero() {
				t.Fatalf("notice = %+v", n.Payload)
			}
			t.Run("polling early says authorization_pending, then slow_down", func(t *testing.T) {
				if _, m := s.collect(t, c, id); m["error"] != "authorization_pending" {
					t.Fatalf("first poll: %v", m)
				}
				if _, m := s.collect(t, c, id); m["error"] != "slow_down" {
					t.Fatalf("second poll at once: %v", m)
				}
			})
			t.Run("another client cannot collect the request", func(t *testing.T) {
				other := s.register(t, cibaPollMetadata)
				s.clock.advance(5 * time.Second)
				if status, m := s.collect(t, other, id); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
					t.Fatalf("poll by another client: %d %v", status, m)
				}
			})
			if p := s.answer(t, n, "approve", "Kiosk 4: 1234", "Kiosk", "See your email address"); p.status != http.StatusOK || !strings.Contains(p.body, "Sign-in approved") {
				t.Fatalf("approval: %d %s", p.status, p.body)
			}

			s.clock.advance(5 * time.Second)
			status, m := s.collect(t, c, id)
			if status != http.StatusOK || m["token_type"] != "Bearer" || m["scope"] != "openid profile email offline_access" {
				t.Fatalf("token response: %d %v", status, m)
			}
			access, _ := m["access_token"].(string)
			refresh, _ := m["refresh_token"].(string)
			rawID, _ := m["id_token"].(string)
			if access == "" || refresh == "" || rawID == "" {
				t.Fatalf("token response lacks a token: %v", m)
			}
			t.Run("the ID token verifies with go-oidc", func(t *testing.T) {
				idt, err := provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(ctx, rawID)
				if err != nil {
					t.Fatalf("verify id_token: %v", err)
				}
				if err := idt.VerifyAccessToken(access); err != nil {
					t.Fatalf("at_hash: %v", err)
				}
				var claims map[string]any
				_ = idt.Claims(&claims)
				if claims["preferred_username"] != testUser || claims["email"] == nil || claims["auth_time"] == nil || idt.Nonce != "" {
					t.Fatalf("ID token claims = %v", claims)
				}
			})
			t.Run("the access token works at userinfo", func(t *testing.T) {
				if info := userinfo(t, s.testServer, http.MethodGet, access); info.status != 200 || info.body["preferred_username"] != testUser {
					t.Fatalf("userinfo: %d %v", info.status, info.body)
				}
			})
			t.Run("the refresh token works with x/oauth2", func(t *testing.T) {
				cfg := oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: provider.Endpoint()}
				cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
				tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if tok.AccessToken == "" || tok.RefreshToken == "" || tok.RefreshToken == refresh {
					t.Fatalf("refreshed token = %+v", tok)
				}
			})
			t.Run("the approval is listed on the person's account page", func(t *testing.T) {
				b := newBrowser(t, s.testServer)
				p := b.login(b.get(s.issuer+"/account"), testUser, testPassword)
				if !strings.Contains(p.body, "Kiosk") || !strings.Contains(p.body, `action="/account/consents/`+c.ID+`/revoke"`) {
					t.Fatalf("the account page does not list the kiosk:\n%s", p.body)
				}
			})
			t.Run("the auth_req_id works once", func(t *testing.T) {
				s.clock.advance(5 * time.Second)
				if status, m := s.collect(t, c, id); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
					t.Fatalf("second redemption: %d %v", status, m)
				}
			})
			t.Run("an answered request is no longer offered", func(t *testing.T) {
				b := newBrowser(t, s.testServer)
				p := b.login(b.get(n.DecisionURL), testUser, testPassword)
				if p.status != http.StatusNotFound || strings.Contains(p.body, `value="approve"`) {
					t.Fatalf("decision page of an answered request: %d\n%s", p.status, p.body)
				}
			})
			t.Run("deliveries are counted", func(t *testing.T) {
				// The count follows the receiver's answer, which the test saw
				// first.
				deadline := time.Now().Add(10 * time.Second)
				for cibaDeliveries(t, s.testServer, "device", "success") < 1 {
					if time.Now().After(deadline) {
						t.Fatal("oauth2_ciba_deliveries_total{kind=device,outcome=success} stays 0")
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		})
	}
}

// cibaDeliveries reads oauth2_ciba_deliveries_total for kind and outcome.
func cibaDeliveries(t *testing.T, s *testServer, kind, outcome string) float64 {
	t.Helper()
	return counterValue(t, s, "oauth2_ciba_deliveries_total", map[string]string{"kind": kind, "outcome": outcome})
}

// counterValue reads the metric name with the labels want from /metrics
// (a counter's or a gauge's value, a histogram's count), 0 when no series
// has them.
func counterValue(t *testing.T, s *testServer, name string, want map[string]string) float64 {
	t.Helper()
	f := scrapeMetrics(t, s)[name]
	if f == nil {
		t.Fatalf("/metrics lacks %s", name)
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
		return m.GetCounter().GetValue()
	}
	return 0
}

func TestCIBADenialAndExpiry(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := startCIBAServer(t, backend)
			c := s.register(t, cibaPollMetadata)
			t.Run("a denied request ends with access_denied", func(t *testing.T) {
				id, n := s.start(t, c, url.Values{"scope": {"openid"}, "login_hint": {testUser}})
				if p := s.answer(t, n, "deny"); p.status != http.StatusOK || !strings.Contains(p.body, "Sign-in denied") {
					t.Fatalf("deny: %d %s", p.status, p.body)
				}
				if status, m := s.collect(t, c, id); status != http.StatusBadRequest || m["error"] != "access_denied" {
					t.Fatalf("poll after denial: %d %v", status, m)
				}
			})
			t.Run("an expired request is expired_token and its page is gone", func(t *testing.T) {
				id, n := s.start(t, c, url.Values{"scope": {"openid"}, "login_hint": {testUser}, "requested_expiry": {"60"}})
				s.clock.advance(61 * time.Second)
				if status, m := s.collect(t, c, id); status != http.StatusBadRequest || m["error"] != "expired_token" {
					t.Fatalf("poll after expiry: %d %v", status, m)
				}
				b := newBrowser(t, s.testServer)
				if p := b.login(b.get(n.DecisionURL), testUser, testPassword); p.status != http.StatusNotFound || !strings.Contains(p.body, "has expired") {
					t.Fatalf("decision page after expiry: %d\n%s", p.status, p.body)
				}
			})
		})
	}
}

// pingReceiver is a client's notification endpoint (CIBA §10.2).
type pingReceiver struct {
	srv   *httptest.Server
	pings chan ping
}

type ping struct {
	auth, contentType, authReqID string
	fields                       int
}

func newPingReceiver(t *testing.T) *pingReceiver {
	r := &pingReceiver{pings: make(chan ping, 8)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(req.Body).Decode(&body)
		id, _ := body["auth_req_id"].(string)
		r.pings <- ping{auth: req.Header.Get("Authorization"), contentType: req.Header.Get("Content-Type"), authReqID: id, fields: len(body)}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *pingReceiver) next(t *testing.T) ping {
	t.Helper()
	select {
	case p := <-r.pings:
		return p
	case <-time.After(15 * time.Second):
		t.Fatal("the client was not pinged")
	}
	return ping{}
}

func TestCIBAPingMode(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			s := startCIBAServer(t, backend)
			rp := newPingReceiver(t)
			c := s.register(t, cibaPingMetadata(rp.srv.URL+"/cb"))
			for _, tc := range []struct {
				decision, wantError string
			}{{"approve", ""}, {"deny", "access_denied"}} {
				t.Run("the client is pinged after the user answers "+tc.decision, func(t *testing.T) {
					token := "notify-" + randomHex(16)
					id, n := s.start(t, c, url.Values{"scope": {"openid profile"}, "login_hint": {testUser}, "client_notification_token": {token}})
					if strings.Contains(n.raw, token) {
						t.Fatal("the notice to the user's device carries the client_notification_token")
					}
					select {
					case p := <-rp.pings:
						t.Fatalf("pinged before the user answered: %+v", p)
					default:
					}
					s.answer(t, n, tc.decision)
					p := rp.next(t)
					if p.auth != "Bearer "+token || p.contentType != "application/json" || p.authReqID != id || p.fields != 1 {
						t.Fatalf("ping = %+v, want the auth_req_id with Bearer %s", p, token)
					}
					status, m := s.collect(t, c, id)
					if tc.wantError != "" {
						if status != http.StatusBadRequest || m["error"] != tc.wantError {
							t.Fatalf("token request after the ping: %d %v", status, m)
						}
						return
					}
					if status != http.StatusOK || m["id_token"] == nil || m["access_token"] == nil {
						t.Fatalf("token request after the ping: %d %v", status, m)
					}
				})
			}
		})
	}
}

func TestCIBABadRequests(t *testing.T) {
	s := startCIBAServer(t, "sqlite")
	poll := s.register(t, cibaPollMetadata)
	pingClient := s.register(t, cibaPingMetadata("https://rp.example/cb"))
	web := s.register(t, webClientMetadata)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name       string
		user, pass string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"no hint", poll.ID, poll.Secret, form("scope", "openid"), 400, "invalid_request"},
		{"two hints", poll.ID, poll.Secret, form("scope", "openid", "login_hint", testUser, "id_token_hint", "a.b.c"), 400, "invalid_request"},
		{"login_hint_token", poll.ID, poll.Secret, form("scope", "openid", "login_hint_token", "eyJ.x.y"), 400, "invalid_request"},
		{"unknown user", poll.ID, poll.Secret, form("scope", "openid", "login_hint", "nobody-"+randomHex(4)), 400, "unknown_user_id"},
		{"id_token_hint that is not an ID token of this server", poll.ID, poll.Secret, form("scope", "openid", "id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."), 400, "invalid_request"},
		{"scope without openid", poll.ID, poll.Secret, form("scope", "profile", "login_hint", testUser), 400, "invalid_scope"},
		{"binding message too long", poll.ID, poll.Secret, form("scope", "openid", "login_hint", testUser, "binding_message", strings.Repeat("x", 65)), 400, "invalid_binding_message"},
		{"user_code", poll.ID, poll.Secret, form("scope", "openid", "login_hint", testUser, "user_code", "1234"), 400, "invalid_request"},
		{"bad requested_expiry", poll.ID, poll.Secret, form("scope", "openid", "login_hint", testUser, "requested_expiry", "-1"), 400, "invalid_request"},
		{"ping mode without client_notification_token", "", "", form("scope", "openid", "login_hint", testUser, "client_id", pingClient.ID, "client_secret", pingClient.Secret), 400, "invalid_request"},
		{"client not registered for CIBA", web.ID, web.Secret, form("scope", "openid", "login_hint", testUser), 400, "unauthorized_client"},
		{"unregistered client", "nobody", "nothing", form("scope", "openid", "login_hint", testUser), 401, "invalid_client"},
		{"wrong client secret", poll.ID, "wrong", form("scope", "openid", "login_hint", testUser), 401, "invalid_client"},
		{"no client authentication", "", "", form("scope", "openid", "login_hint", testUser), 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := postForm(t, s.issuer+"/oauth/bc-authorize", tt.form, tt.user, tt.pass)
			if resp.StatusCode != tt.wantStatus || m["error"] != tt.wantError || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, m, tt.wantStatus, tt.wantError)
			}
			if m["error_description"] == nil {
				t.Errorf("no error_description: %v", m)
			}
			if tt.wantStatus == 401 && tt.user != "" && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("a failed Basic authentication has no WWW-Authenticate")
			}
		})
	}
	select {
	case n := <-s.device.notices:
		t.Fatalf("a refused request reached the user's device: %+v", n.Payload)
	default:
	}
	t.Run("registration refuses what is not supported", func(t *testing.T) {
		for name, meta := range map[string]string{
			"push mode":       `{"grant_types":["` + core.GrantCIBA + `"],"backchannel_token_delivery_mode":"push","backchannel_client_notification_endpoint":"https://rp.example/cb"}`,
			"signed requests": `{"grant_types":["` + core.GrantCIBA + `"],"backchannel_token_delivery_mode":"poll","backchannel_authentication_request_signing_alg":"RS256"}`,
			"user codes":      `{"grant_types":["` + core.GrantCIBA + `"],"backchannel_token_delivery_mode":"poll","backchannel_user_code_parameter":true}`,
			"plain http ping": `{"grant_types":["` + core.GrantCIBA + `"],"backchannel_token_delivery_mode":"ping","backchannel_client_notification_endpoint":"http://rp.example/cb"}`,
			"public client":   `{"grant_types":["` + core.GrantCIBA + `"],"backchannel_token_delivery_mode":"poll","token_endpoint_auth_method":"none"}`,
		} {
			status, body := s.registerRaw(t, s.regToken, meta)
			if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client_metadata") {
				t.Errorf("%s: %d %s", name, status, body)
			}
		}
	})
}

func TestCIBAIsOffWithoutANotifier(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	req, _ := http.NewRequest(http.MethodGet, s.issuer+"/.well-known/openid-configuration", nil)
	_, m := doJSON(t, req)
	if m["backchannel_authentication_endpoint"] != nil || m["backchannel_token_delivery_modes_supported"] != nil {
		t.Fatalf("CIBA is advertised without a notifier: %v", m)
	}
	if gts, _ := m["grant_types_supported"].([]any); slices.Contains(gts, any(core.GrantCIBA)) {
		t.Fatalf("grant_types_supported = %v", gts)
	}
	resp, body := postForm(t, s.issuer+"/oauth/bc-authorize", url.Values{"scope": {"openid"}, "login_hint": {testUser}}, "x", "y")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/oauth/bc-authorize: %d %v", resp.StatusCode, body)
	}
	if status, b := s.registerRaw(t, s.regToken, cibaPollMetadata); status != http.StatusBadRequest || !strings.Contains(string(b), "not supported") {
		t.Fatalf("registration of a CIBA client: %d %s", status, b)
	}
}
