package e2e

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jwtHeader(t *testing.T, token string) map[string]any { return jwtPart(t, token, 0) }
func jwtClaims(t *testing.T, token string) map[string]any { return jwtPart(t, token, 1) }

type userinfoResult struct {
	status int
	header http.Header
	body   map[string]any
}

func userinfo(t *testing.T, s *testServer, method, token string) userinfoResult {
	t.Helper()
	req, _ := http.NewRequest(method, s.issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, body := doJSON(t, req)
	return userinfoResult{status: resp.StatusCode, header: resp.Header, body: body}
}

func TestDiscovery(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.issuer+path, nil)
			resp, m := doJSON(t, req)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if m["issuer"] != s.issuer || m["token_endpoint"] != s.issuer+"/oauth/token" || m["registration_endpoint"] != s.issuer+"/oauth/register" {
				t.Fatalf("metadata = %v", m)
			}
			if got := m["code_challenge_methods_supported"]; !equalList(got, "S256") {
				t.Fatalf("code_challenge_methods_supported = %v, want only S256", got)
			}
			if got := m["response_types_supported"]; !equalList(got, "code", "code id_token", "code token", "code id_token token") {
				t.Fatalf("response_types_supported = %v, want code and the hybrid types", got)
			}
			if got := m["response_modes_supported"]; !equalList(got, "query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt") {
				t.Fatalf("response_modes_supported = %v", got)
			}
			if got := m["authorization_signing_alg_values_supported"]; !equalList(got, "RS256", "ES256", "PS256", "EdDSA") {
				t.Fatalf("authorization_signing_alg_values_supported = %v", got)
			}
			if _, ok := m["authorization_encryption_alg_values_supported"]; ok {
				t.Fatal("authorization response encryption is advertised")
			}
			if m["authorization_response_iss_parameter_supported"] != true || m["request_uri_parameter_supported"] != false {
				t.Fatalf("iss parameter and request_uri support must be stated: %v", m)
			}
		})
	}
	t.Run("jwks holds public keys only", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.issuer+"/.well-known/jwks.json", nil)
		_, m := doJSON(t, req)
		keys, _ := m["keys"].([]any)
		var algs []string
		for _, k := range keys {
			k := k.(map[string]any)
			if _, private := k["d"]; private {
				t.Fatal("JWKS leaks a private key")
			}
			algs = append(algs, k["alg"].(string))
		}
		slices.Sort(algs)
		if !slices.Equal(algs, []string{"ES256", "EdDSA", "PS256", "RS256"}) {
			t.Fatalf("key algorithms = %v", algs)
		}
	})
}

func equalList(v any, want ...string) bool {
	l, _ := v.([]any)
	if len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

func TestHealthReadyMetrics(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	for _, path := range []string{"/health", "/ready"} {
		resp, err := http.Get(s.issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
	}
	// A token request so the counters have something to count.
	postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "nobody", "x")
	families := scrapeMetrics(t, s)
	for _, name := range []string{"oauth2_http_requests_total", "oauth2_http_request_duration_seconds", "oauth2_authentication_failures_total",
		"oauth2_domain_events_total", "oauth2_signing_key_age_seconds", "oauth2_breaker_state", "oauth2_dependency_call_duration_seconds",
		"oauth2_ratelimit_rejections_total", "oauth2_janitor_deleted_total", "oauth2_active_sessions"} {
		if families[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestAuthorizeErrors(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	w := newWebApp(t, s, webClientMetadata)
	base := func(mut func(q url.Values)) string {
		q := url.Values{
			"client_id": {w.client.ID}, "redirect_uri": {w.oauth.RedirectURL}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"xyz"},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		}
		mut(q)
		return s.issuer + "/oauth/authorize?" + q.Encode()
	}
	pageCases := []struct {
		name string
		mut  func(q url.Values)
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "nope") }},
		{"missing client", func(q url.Values) { q.Del("client_id") }},
		{"unregistered redirect uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/callback") }},
		{"redirect uri with extra path", func(q url.Values) { q.Set("redirect_uri", w.oauth.RedirectURL+"/x") }},
		{"repeated redirect uri", func(q url.Values) { q.Add("redirect_uri", w.oauth.RedirectURL) }},
		{"malformed request object", func(q url.Values) { q.Set("request", "eyJ.x.y") }},
	}
	for _, tc := range pageCases {
		t.Run(tc.name+" shows an error page and never redirects", func(t *testing.T) {
			p := newBrowser(t, s).get(base(tc.mut))
			if p.location != nil || p.status != http.StatusBadRequest || !strings.Contains(p.body, "cannot continue") {
				t.Fatalf("got %d location=%v", p.status, p.location)
			}
		})
	}
	redirectCases := []struct {
		name, want string
		mut        func(q url.Values)
	}{
		{"plain PKCE", "invalid_request", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
		{"missing PKCE", "invalid_request", func(q url.Values) { q.Del("code_challenge") }},
		{"missing response type", "invalid_request", func(q url.Values) { q.Del("response_type") }},
		{"scope not registered", "invalid_scope", func(q url.Values) { q.Set("scope", "openid admin") }},
		{"repeated scope", "invalid_request", func(q url.Values) { q.Add("scope", "email") }},
		{"bad max_age", "invalid_request", func(q url.Values) { q.Set("max_age", "-1") }},
		{"unknown prompt", "invalid_request", func(q url.Values) { q.Set("prompt", "select_account") }},
		{"prompt none without session", "login_required", func(q url.Values) { q.Set("prompt", "none") }},
	}
	for _, tc := range redirectCases {
		t.Run(tc.name+" redirects "+tc.want, func(t *testing.T) {
			p := newBrowser(t, s).get(base(tc.mut))
			if p.location == nil {
				t.Fatalf("want a redirect to the client, got %d", p.status)
			}
			q := p.location.Query()
			if !strings.HasPrefix(p.location.String(), w.oauth.RedirectURL) || q.Get("error") != tc.want || q.Get("state") != "xyz" || q.Get("iss") != s.issuer {
				t.Fatalf("redirect = %s", p.location)
			}
			if q.Get("code") != "" {
				t.Fatal("an error response must not carry a code")
			}
		})
	}
	t.Run("token response type redirects unsupported_response_type in the fragment", func(t *testing.T) {
		// Multiple Response Types §5: a response type that would return a
		// token answers in the fragment, errors included.
		p := newBrowser(t, s).get(base(func(q url.Values) { q.Set("response_type", "token") }))
		if p.location == nil {
			t.Fatalf("want a redirect to the client, got %d", p.status)
		}
		if f := fragmentParams(t, p.location); f.Get("error") != "unsupported_response_type" || f.Get("state") != "xyz" || f.Get("iss") != s.issuer {
			t.Fatalf("redirect = %s", p.location)
		}
	})
	t.Run("deny at consent redirects access_denied", func(t *testing.T) {
		b := newBrowser(t, s)
		p := b.get(base(func(url.Values) {}))
		p = b.login(p, testUser, testPassword)
		p = b.decide(p, "deny")
		if p.location == nil || p.location.Query().Get("error") != "access_denied" {
			t.Fatalf("deny: got %d %v", p.status, p.location)
		}
	})
	t.Run("a wrong password shows the form again", func(t *testing.T) {
		b := newBrowser(t, s)
		p := b.get(base(func(url.Values) {}))
		p = b.login(p, testUser, "wrong password")
		if !p.isLogin() || !strings.Contains(p.body, "Wrong username or password") {
			t.Fatalf("got %d %s", p.status, p.url)
		}
	})
	t.Run("a login post without the CSRF token is refused", func(t *testing.T) {
		b := newBrowser(t, s)
		p := b.get(base(func(url.Values) {}))
		form := p.hidden()
		form.Set("csrf_token", "forged")
		form.Set("username", testUser)
		form.Set("password", testPassword)
		p = b.post(s.issuer+"/login", form)
		if p.status != http.StatusForbidden || p.location != nil {
			t.Fatalf("got %d", p.status)
		}
	})
	t.Run("login renews the session id", func(t *testing.T) {
		b := newBrowser(t, s)
		p := b.get(base(func(url.Values) {}))
		b.login(p, testUser, testPassword)
		u, _ := url.Parse(s.issuer)
		first := sessionCookieValue(b, u)
		p = b.get(base(func(q url.Values) { q.Set("prompt", "login") }))
		b.login(p, testUser, testPassword)
		if second := sessionCookieValue(b, u); first == "" || second == "" || first == second {
			t.Fatalf("session cookie before %q and after %q a new login must differ", first, second)
		}
	})
}

func sessionCookieValue(b *browser, u *url.URL) string {
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "oauth2_session" {
			return c.Value
		}
	}
	return ""
}

func TestTokenEndpointBadInput(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	c := s.register(t, `{"grant_types":["client_credentials"],"scope":"a"}`)
	tokenURL := s.issuer + "/oauth/token"
	cases := []struct {
		name       string
		body       string
		ctype      string
		wantStatus int
		wantError  string
	}{
		{"missing grant_type", "", "application/x-www-form-urlencoded", 400, "invalid_request"},
		{"unknown grant_type", "grant_type=password", "application/x-www-form-urlencoded", 400, "unsupported_grant_type"},
		{"repeated parameter", "grant_type=client_credentials&scope=a&scope=a", "application/x-www-form-urlencoded", 400, "invalid_request"},
		{"JSON body", `{"grant_type":"client_credentials"}`, "application/json", 400, "invalid_request"},
		{"malformed form", "grant_type=%zz", "application/x-www-form-urlencoded", 400, "invalid_request"},
		{"oversized body", "grant_type=client_credentials&pad=" + strings.Repeat("a", 2<<20), "application/x-www-form-urlencoded", 413, "invalid_request"},
		{"unknown code", "grant_type=authorization_code&code=nope", "application/x-www-form-urlencoded", 400, "unauthorized_client"},
		{"refresh for a client without the grant", "grant_type=refresh_token&refresh_token=x", "application/x-www-form-urlencoded", 400, "unauthorized_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			req.SetBasicAuth(c.ID, c.Secret)
			resp, m := doJSON(t, req)
			if resp.StatusCode != tc.wantStatus || m["error"] != tc.wantError {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, m, tc.wantStatus, tc.wantError)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || m["access_token"] != nil {
				t.Fatalf("error responses carry no-store and no token: %v %v", resp.Header, m)
			}
		})
	}
	t.Run("GET is not allowed", func(t *testing.T) {
		resp, err := http.Get(tokenURL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(string(b), "invalid_request") {
			t.Fatalf("got %d %s", resp.StatusCode, b)
		}
	})
}

func TestDynamicRegistration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		c := s.register(t, `{"client_name":"Reg","redirect_uris":["https://rp.example/cb"],"software_id":"rp-1","scope":"openid profile"}`)
		if c.ID == "" || c.Secret == "" || c.RegistrationToken == "" || c.RegistrationURI != s.issuer+"/oauth/register/"+c.ID {
			t.Fatalf("registration response = %v", c.Raw)
		}
		t.Run("RFC 7592 read returns the metadata", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, c.RegistrationURI, nil)
			req.Header.Set("Authorization", "Bearer "+c.RegistrationToken)
			resp, m := doJSON(t, req)
			if resp.StatusCode != 200 || m["client_id"] != c.ID || m["software_id"] != "rp-1" || m["client_secret"] != nil {
				t.Fatalf("read: %d %v", resp.StatusCode, m)
			}
		})
		t.Run("read with a wrong token is refused", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, c.RegistrationURI, nil)
			req.Header.Set("Authorization", "Bearer "+s.regToken)
			resp, _ := doJSON(t, req)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d", resp.StatusCode)
			}
		})
		cases := []struct {
			name, token, body string
			status            int
			errCode           string
		}{
			{"without the initial access token", "", `{"redirect_uris":["https://a.example/cb"]}`, 401, "invalid_token"},
			{"with a wrong initial access token", "wrong", `{"redirect_uris":["https://a.example/cb"]}`, 401, "invalid_token"},
			{"http redirect uri", s.regToken, `{"redirect_uris":["http://a.example/cb"]}`, 400, "invalid_redirect_uri"},
			{"fragment in redirect uri", s.regToken, `{"redirect_uris":["https://a.example/cb#x"]}`, 400, "invalid_redirect_uri"},
			{"code flow without redirect uri", s.regToken, `{"grant_types":["authorization_code"]}`, 400, "invalid_redirect_uri"},
			{"unsupported auth method", s.regToken, `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"tls_client_auth"}`, 400, "invalid_client_metadata"},
			{"malformed JSON", s.regToken, `{"redirect_uris":`, 400, "invalid_client_metadata"},
			{"bad scope syntax", s.regToken, `{"grant_types":["client_credentials"],"scope":"a\"b"}`, 400, "invalid_client_metadata"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, body := s.registerRaw(t, tc.token, tc.body)
				var m map[string]any
				_ = json.Unmarshal(body, &m)
				if status != tc.status || m["error"] != tc.errCode {
					t.Fatalf("got %d %s", status, body)
				}
			})
		}
	})
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestProfilingListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debugAddr := ln.Addr().String()
	ln.Close()
	s := startServer(t, "sqlite", map[string]string{"OAUTH2_DEBUG_ADDR": debugAddr})

	t.Run("profiles are served on the debug address", func(t *testing.T) {
		var resp *http.Response
		// The listener starts beside the public one; give it a moment.
		for range 50 {
			if resp, err = http.Get("http://" + debugAddr + "/debug/pprof/heap?debug=1"); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
			t.Fatalf("status %d, body %.200q", resp.StatusCode, body)
		}
	})
	t.Run("the public listener does not serve them", func(t *testing.T) {
		resp, err := http.Get(s.issuer + "/debug/pprof/heap")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
	})
}

func TestActiveSessionsMetric(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	w := newWebApp(t, s, webClientMetadata)
	// Two people sign in (each browser gets a session of its own); the
	// first scrape counts them.
	w.authorize(t, newBrowser(t, s))
	w.authorize(t, newBrowser(t, s))
	families := scrapeMetrics(t, s)
	f := families["oauth2_active_sessions"]
	if f == nil || len(f.Metric) != 1 {
		t.Fatal("/metrics lacks oauth2_active_sessions")
	}
	if n := f.Metric[0].GetGauge().GetValue(); n != 2 {
		t.Fatalf("oauth2_active_sessions = %v after two sign-ins, want 2", n)
	}
}

func TestTokensIssuedMetric(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	w := newWebApp(t, s, webClientMetadata)
	w.exchange(t, w.authorize(t, newBrowser(t, s)))
	families := scrapeMetrics(t, s)
	got := map[string]float64{}
	for _, m := range families["oauth2_tokens_issued_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		got[labels["grant_type"]+" "+labels["token"]] = m.GetCounter().GetValue()
	}
	for _, token := range []string{"access_token", "refresh_token", "id_token"} {
		if n := got["authorization_code "+token]; n != 1 {
			t.Errorf("oauth2_tokens_issued_total{grant_type=authorization_code,token=%s} = %v, want 1 (all: %v)", token, n, got)
		}
	}
}

// scrapeMetrics reads /metrics and parses it as the Prometheus text
// exposition format, failing the test if it is not valid.
func scrapeMetrics(t *testing.T, s *testServer) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(s.issuer + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not valid exposition format: %v", err)
	}
	return families
}

func TestCookiesAndHSTSFollowTheIssuerScheme(t *testing.T) {
	tests := []struct {
		name       string
		issuer     string // "" for the plain-http loopback issuer of the test server
		wantSecure bool
	}{
		{name: "a loopback http issuer sets plain cookies and no HSTS"},
		{name: "an https issuer sets Secure cookies and HSTS", issuer: "https://id.example.com", wantSecure: true},
		// RFC 3986 §3.1: the scheme is case-insensitive, and browsers
		// treat such an issuer as https.
		{name: "an issuer whose scheme is in capitals sets Secure cookies and HSTS", issuer: "HTTPS://id.example.com", wantSecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env map[string]string
			if tt.issuer != "" {
				env = map[string]string{"OAUTH2_ISSUER": tt.issuer}
			}
			s := startServer(t, "sqlite", env)
			resp, err := http.Get("http://" + s.addr + "/login")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cookies := resp.Cookies()
			if resp.StatusCode != http.StatusOK || len(cookies) == 0 {
				t.Fatalf("GET /login: status %d, %d cookies; want 200 with the CSRF cookie", resp.StatusCode, len(cookies))
			}
			for _, c := range cookies {
				if c.Secure != tt.wantSecure {
					t.Errorf("cookie %s: Secure = %v, want %v", c.Name, c.Secure, tt.wantSecure)
				}
			}
			if hsts := resp.Header.Get("Strict-Transport-Security") != ""; hsts != tt.wantSecure {
				t.Errorf("Strict-Transport-Security sent = %v, want %v", hsts, tt.wantSecure)
			}
		})
	}
}
