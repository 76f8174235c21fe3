package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// push sends a pushed authorization request for w and returns the
// request_uri and the PKCE verifier.
func (w *webApp) push(t *testing.T, s *testServer, extra url.Values) (string, authorization) {
	t.Helper()
	a := authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
	form := url.Values{
		"response_type": {"code"}, "redirect_uri": {w.oauth.RedirectURL}, "scope": {"openid profile"},
		"state": {a.state}, "nonce": {a.nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(a.verifier)}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		form[k] = v
	}
	resp, m := postForm(t, s.issuer+"/oauth/par", form, w.client.ID, w.client.Secret)
	if resp.StatusCode != http.StatusCreated || m["expires_in"] == nil {
		t.Fatalf("PAR: %d %v", resp.StatusCode, m)
	}
	return m["request_uri"].(string), a
}

func TestPushedAuthorizationRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		w := newWebApp(t, s, webClientMetadata)
		b := newBrowser(t, s)
		uri, a := w.push(t, s, nil)
		authorizeURL := s.issuer + "/oauth/authorize?" + url.Values{"client_id": {w.client.ID}, "request_uri": {uri}}.Encode()
		p := b.get(authorizeURL)
		p = b.decide(b.login(p, testUser, testPassword), "allow")
		if p.location == nil {
			t.Fatalf("no redirect to the client: %d", p.status)
		}
		a.redirect = p.location
		tok := w.exchange(t, a)
		w.verifyIDToken(t, tok, a.nonce)

		t.Run("a request_uri is used once", func(t *testing.T) {
			p := newBrowser(t, s).get(authorizeURL)
			if p.status != http.StatusBadRequest || p.location != nil {
				t.Fatalf("second use: %d %v", p.status, p.location)
			}
		})
		t.Run("a request_uri belongs to the client that pushed it", func(t *testing.T) {
			other := s.register(t, webClientMetadata)
			uri, _ := w.push(t, s, nil)
			p := newBrowser(t, s).get(s.issuer + "/oauth/authorize?" + url.Values{"client_id": {other.ID}, "request_uri": {uri}}.Encode())
			if p.status != http.StatusBadRequest || p.location != nil {
				t.Fatalf("another client's request_uri: %d", p.status)
			}
		})
		cases := []struct {
			name, user, secret string
			form               url.Values
			status             int
			errCode            string
		}{
			{"a wrong secret", w.client.ID, "wrong", url.Values{"response_type": {"code"}}, 401, "invalid_client"},
			{"an unregistered redirect_uri", w.client.ID, w.client.Secret, url.Values{"response_type": {"code"}, "redirect_uri": {"https://evil.example/cb"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}}, 400, "invalid_request"},
			{"a missing PKCE challenge", w.client.ID, w.client.Secret, url.Values{"response_type": {"code"}, "redirect_uri": {w.oauth.RedirectURL}}, 400, "invalid_request"},
			{"a pushed request_uri", w.client.ID, w.client.Secret, url.Values{"request_uri": {uri}}, 400, "invalid_request"},
		}
		for _, tc := range cases {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				resp, m := postForm(t, s.issuer+"/oauth/par", tc.form, tc.user, tc.secret)
				if resp.StatusCode != tc.status || m["error"] != tc.errCode || resp.Header.Get("Location") != "" {
					t.Fatalf("got %d %v", resp.StatusCode, m)
				}
			})
		}
		t.Run("a client that requires PAR cannot skip it", func(t *testing.T) {
			strict := newWebApp(t, s, `{"redirect_uris":["https://app.example.com/callback"],"require_pushed_authorization_requests":true}`)
			p := newBrowser(t, s).get(strict.oauth.AuthCodeURL("st", oauthS256(t)))
			if p.location == nil || p.location.Query().Get("error") != "invalid_request" {
				t.Fatalf("plain request from a PAR-only client: %d %v", p.status, p.location)
			}
		})
		t.Run("discovery advertises the endpoint", func(t *testing.T) {
			_, m := doJSON(t, mustRequest(t, s.issuer+"/.well-known/openid-configuration"))
			if m["pushed_authorization_request_endpoint"] != s.issuer+"/oauth/par" {
				t.Fatalf("metadata = %v", m)
			}
		})
	})
}

func TestPushedRequestRedeemedOnAnotherReplica(t *testing.T) {
	env := map[string]string{"OAUTH2_DATABASE_URL": "sqlite:" + t.TempDir() + "/shared.db", "OAUTH2_KEY_ENCRYPTION_KEY": randomKey()}
	first := startServer(t, "sqlite", env)
	second := startServer(t, "sqlite", env)
	w := newWebApp(t, first, webClientMetadata)
	uri, a := w.push(t, first, nil)
	b := newBrowser(t, second)
	p := b.get(second.issuer + "/oauth/authorize?" + url.Values{"client_id": {w.client.ID}, "request_uri": {uri}}.Encode())
	p = b.decide(b.login(p, testUser, testPassword), "allow")
	if p.location == nil || p.location.Query().Get("code") == "" || p.location.Query().Get("state") != a.state {
		t.Fatalf("second replica: %d %v", p.status, p.location)
	}
	// The code is the second replica's; its issuer is in the response.
	if p.location.Query().Get("iss") != second.issuer {
		t.Fatalf("iss = %q", p.location.Query().Get("iss"))
	}
}
