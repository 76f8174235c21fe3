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
	"golang.org/x/oauth2/clientcredentials"
)

// introspect calls the introspection endpoint as the given client.
func introspect(t *testing.T, s *testServer, c registered, token string) (int, map[string]any) {
	t.Helper()
	resp, body := postForm(t, s.issuer+"/oauth/introspect", url.Values{"token": {token}}, c.ID, c.Secret)
	return resp.StatusCode, body
}

func revoke(t *testing.T, s *testServer, c registered, token string) int {
	t.Helper()
	resp, _ := postForm(t, s.issuer+"/oauth/revoke", url.Values{"token": {token}}, c.ID, c.Secret)
	return resp.StatusCode
}

func TestIntrospectionAndRevocation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		w := newWebApp(t, s, webClientMetadata)
		a := w.authorize(t, newBrowser(t, s))
		tok := w.exchange(t, a)
		stranger := s.register(t, `{"grant_types":["client_credentials"]}`)
		api := s.register(t, `{"grant_types":["client_credentials"],"resource_server":true,"resource_uris":["`+s.issuer+`"],
			"introspection_signed_response_alg":"ES256"}`)

		t.Run("the owner sees its access token", func(t *testing.T) {
			status, m := introspect(t, s, w.client, tok.AccessToken)
			if status != 200 || m["active"] != true || m["client_id"] != w.client.ID || m["token_type"] != "Bearer" ||
				m["iss"] != s.issuer || m["scope"] != "openid profile email" || m["jti"] == nil || m["sub"] == nil || m["exp"] == nil {
				t.Fatalf("introspection = %d %v", status, m)
			}
		})
		t.Run("the owner sees its refresh token", func(t *testing.T) {
			_, m := introspect(t, s, w.client, tok.RefreshToken)
			if m["active"] != true || m["token_type"] != "refresh_token" {
				t.Fatalf("introspection = %v", m)
			}
		})
		t.Run("a stranger client reads inactive", func(t *testing.T) {
			status, m := introspect(t, s, stranger, tok.AccessToken)
			if status != 200 || m["active"] != false || len(m) != 1 {
				t.Fatalf("stranger introspection = %d %v", status, m)
			}
		})
		t.Run("a resource server sees tokens for its audience", func(t *testing.T) {
			_, m := introspect(t, s, api, tok.AccessToken)
			if m["active"] != true || m["aud"] != s.issuer {
				t.Fatalf("resource server introspection = %v", m)
			}
			_, m = introspect(t, s, api, tok.RefreshToken)
			if m["active"] != false {
				t.Fatalf("a resource server must not see refresh tokens: %v", m)
			}
		})
		t.Run("an unauthenticated caller is refused", func(t *testing.T) {
			resp, m := postForm(t, s.issuer+"/oauth/introspect", url.Values{"token": {tok.AccessToken}}, stranger.ID, "wrong")
			if resp.StatusCode != 401 || m["error"] != "invalid_client" {
				t.Fatalf("got %d %v", resp.StatusCode, m)
			}
		})
		t.Run("JWT introspection response", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.issuer+"/oauth/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/token-introspection+jwt")
			req.SetBasicAuth(api.ID, api.Secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != "application/token-introspection+jwt" {
				t.Fatalf("content type %q", ct)
			}
			jwt := string(b)
			if hdr := jwtHeader(t, jwt); hdr["typ"] != "token-introspection+jwt" || hdr["alg"] != "ES256" {
				t.Fatalf("header = %v", hdr)
			}
			if _, err := oidc.NewRemoteKeySet(ctx, s.issuer+"/.well-known/jwks.json").VerifySignature(ctx, jwt); err != nil {
				t.Fatalf("signature: %v", err)
			}
			claims := jwtClaims(t, jwt)
			ti, _ := claims["token_introspection"].(map[string]any)
			if claims["iss"] != s.issuer || claims["aud"] != api.ID || ti["active"] != true || ti["client_id"] != w.client.ID {
				t.Fatalf("claims = %v", claims)
			}
		})

		t.Run("a revoked access token is inactive and refused at userinfo at once", func(t *testing.T) {
			a := w.authorize(t, newBrowser(t, s))
			tok := w.exchange(t, a)
			if code := revoke(t, s, stranger, tok.AccessToken); code != 200 {
				t.Fatalf("revocation by a stranger: %d, want 200 and no effect", code)
			}
			if _, m := introspect(t, s, w.client, tok.AccessToken); m["active"] != true {
				t.Fatal("a stranger's revocation must not revoke another client's token")
			}
			if code := revoke(t, s, w.client, tok.AccessToken); code != 200 {
				t.Fatalf("revoke: %d", code)
			}
			if _, m := introspect(t, s, w.client, tok.AccessToken); m["active"] != false {
				t.Fatalf("revoked token introspects as %v", m)
			}
			if info := userinfo(t, s, http.MethodGet, tok.AccessToken); info.status != 401 {
				t.Fatalf("revoked token at userinfo: %d", info.status)
			}
			if _, m := introspect(t, s, w.client, tok.RefreshToken); m["active"] != true {
				t.Fatal("revoking an access token leaves its refresh token alone")
			}
		})
		t.Run("a revoked refresh token takes its family with it", func(t *testing.T) {
			a := w.authorize(t, newBrowser(t, s))
			tok := w.exchange(t, a)
			if code := revoke(t, s, w.client, tok.RefreshToken); code != 200 {
				t.Fatalf("revoke: %d", code)
			}
			if _, m := introspect(t, s, w.client, tok.AccessToken); m["active"] != false {
				t.Fatal("the access token issued with a revoked refresh token must be inactive")
			}
			_, err := w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Fatalf("refresh after revocation: %q", re.ErrorCode)
			}
		})
		t.Run("an unknown token revokes with 200", func(t *testing.T) {
			if code := revoke(t, s, w.client, "not-a-token"); code != 200 {
				t.Fatalf("got %d", code)
			}
		})
	})
}

func TestClientManagement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		c := s.register(t, `{"client_name":"Managed","redirect_uris":["https://rp.example/cb"]}`)
		call := func(method, body, token string) (int, map[string]any) {
			req, _ := http.NewRequest(method, c.RegistrationURI, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, m := doJSON(t, req)
			return resp.StatusCode, m
		}
		t.Run("update replaces the metadata", func(t *testing.T) {
			status, m := call(http.MethodPut, `{"client_id":"`+c.ID+`","client_name":"Renamed","redirect_uris":["https://rp.example/new"]}`, c.RegistrationToken)
			if status != 200 || m["client_name"] != "Renamed" || !equalList(m["redirect_uris"], "https://rp.example/new") {
				t.Fatalf("update: %d %v", status, m)
			}
			_, m = call(http.MethodGet, "", c.RegistrationToken)
			if m["client_name"] != "Renamed" {
				t.Fatalf("read after update: %v", m)
			}
			cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
			if _, err := cc.Token(context.Background()); err == nil || retrieveError(t, err).ErrorCode != "unauthorized_client" {
				t.Fatalf("the client secret must survive an update (unauthorized_client comes only after authentication): %v", err)
			}
		})
		t.Run("update with bad metadata is refused and changes nothing", func(t *testing.T) {
			status, m := call(http.MethodPut, `{"client_id":"`+c.ID+`","redirect_uris":["http://evil.example/cb"]}`, c.RegistrationToken)
			if status != 400 || m["error"] != "invalid_redirect_uri" {
				t.Fatalf("got %d %v", status, m)
			}
			if _, m := call(http.MethodGet, "", c.RegistrationToken); m["client_name"] != "Renamed" {
				t.Fatalf("a refused update changed the client: %v", m)
			}
		})
		t.Run("update without the client_id is refused", func(t *testing.T) {
			if status, _ := call(http.MethodPut, `{"redirect_uris":["https://rp.example/cb"]}`, c.RegistrationToken); status != 400 {
				t.Fatalf("got %d", status)
			}
		})
		t.Run("a wrong registration token cannot delete", func(t *testing.T) {
			if status, _ := call(http.MethodDelete, "", "wrong"); status != 401 {
				t.Fatalf("got %d", status)
			}
		})
		t.Run("delete revokes the tokens issued to the client", func(t *testing.T) {
			w := newWebApp(t, s, webClientMetadata)
			tok := w.exchange(t, w.authorize(t, newBrowser(t, s)))
			req, _ := http.NewRequest(http.MethodDelete, w.client.RegistrationURI, nil)
			req.Header.Set("Authorization", "Bearer "+w.client.RegistrationToken)
			if resp, _ := doJSON(t, req); resp.StatusCode != 204 {
				t.Fatalf("delete: %d", resp.StatusCode)
			}
			if info := userinfo(t, s, http.MethodGet, tok.AccessToken); info.status != 401 {
				t.Fatalf("a deleted client's access token at userinfo: %d, want 401", info.status)
			}
		})
		t.Run("delete removes the client", func(t *testing.T) {
			if status, _ := call(http.MethodDelete, "", c.RegistrationToken); status != 204 {
				t.Fatalf("delete: %d", status)
			}
			if status, _ := call(http.MethodGet, "", c.RegistrationToken); status != 401 {
				t.Fatalf("read after delete: %d", status)
			}
			p := newBrowser(t, s).get(s.issuer + "/oauth/authorize?client_id=" + c.ID + "&response_type=code")
			if p.status != 400 || p.location != nil {
				t.Fatalf("authorize for a deleted client: %d", p.status)
			}
		})
	})
}

// logoutReceiver is a relying party's back-channel logout endpoint.
type logoutReceiver struct {
	mu     sync.Mutex
	tokens []string
	srv    *httptest.Server
}

func newLogoutReceiver(t *testing.T) *logoutReceiver {
	lr := &logoutReceiver{}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		lr.mu.Lock()
		lr.tokens = append(lr.tokens, r.PostForm.Get("logout_token"))
		lr.mu.Unlock()
	}))
	t.Cleanup(lr.srv.Close)
	return lr
}

func (lr *logoutReceiver) wait(t *testing.T) string {
	t.Helper()
	return lr.waitFor(t, "")
}

// waitFor returns the first logout token for the session sid (any session
// when ""), waiting for it to arrive.
func (lr *logoutReceiver) waitFor(t *testing.T, sid string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		lr.mu.Lock()
		tokens := slices.Clone(lr.tokens)
		lr.mu.Unlock()
		for _, tok := range tokens {
			if sid == "" || jwtClaims(t, tok)["sid"] == sid {
				return tok
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no back-channel logout token for session %s arrived", sid)
	return ""
}

// loopbackCalls lets a server call relying parties the test runs on this
// machine (back-channel logout, CIBA pings).
var loopbackCalls = map[string]string{"OAUTH2_OUTBOUND_PRIVATE_NETWORKS": "127.0.0.0/8", "OAUTH2_ALLOW_LOCAL_OUTBOUND": "1"}

func TestLogout(t *testing.T) {
	forEachBackendWith(t, loopbackCalls, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		receiver := newLogoutReceiver(t)
		w := newWebApp(t, s, `{"client_name":"RP","redirect_uris":["https://rp.example/cb"],
			"grant_types":["authorization_code","refresh_token"],
			"post_logout_redirect_uris":["https://rp.example/bye"],
			"backchannel_logout_uri":"`+receiver.srv.URL+`/backchannel",
			"frontchannel_logout_uri":"https://rp.example/frontchannel"}`)

		t.Run("with id_token_hint the session ends and the browser returns with state", func(t *testing.T) {
			b := newBrowser(t, s)
			a := w.authorize(t, b)
			tok := w.exchange(t, a)
			idt := w.verifyIDToken(t, tok, a.nonce)
			var claims struct {
				Sid string `json:"sid"`
			}
			_ = idt.Claims(&claims)

			p := b.get(s.issuer + "/oauth/logout?" + url.Values{
				"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {"https://rp.example/bye"}, "state": {"bye-state"},
			}.Encode())
			// A front-channel client gets a page with its iframe and a
			// refresh to the redirect.
			if p.status != 200 || !strings.Contains(p.body, "https://rp.example/frontchannel?iss=") || !strings.Contains(p.body, "https://rp.example/bye?state=bye-state") {
				t.Fatalf("logout page: %d\n%s", p.status, p.body)
			}

			lt := receiver.wait(t)
			if _, err := oidc.NewRemoteKeySet(ctx, s.issuer+"/.well-known/jwks.json").VerifySignature(ctx, lt); err != nil {
				t.Fatalf("logout token signature: %v", err)
			}
			if hdr := jwtHeader(t, lt); hdr["typ"] != "logout+jwt" {
				t.Fatalf("logout token header %v", hdr)
			}
			lc := jwtClaims(t, lt)
			events, _ := lc["events"].(map[string]any)
			if lc["sid"] != claims.Sid || lc["sub"] != idt.Subject || lc["aud"] != w.client.ID || events["http://schemas.openid.net/event/backchannel-logout"] == nil || lc["nonce"] != nil {
				t.Fatalf("logout token claims %v (sid %s)", lc, claims.Sid)
			}

			p = b.get(w.oauth.AuthCodeURL("after", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
			if p.location == nil || p.location.Query().Get("error") != "login_required" {
				t.Fatalf("prompt=none after logout: %d %v", p.status, p.location)
			}
		})
		t.Run("without a hint the user confirms first", func(t *testing.T) {
			b := newBrowser(t, s)
			w.exchange(t, w.authorize(t, b))
			p := b.get(s.issuer + "/oauth/logout")
			if p.status != 200 || !strings.Contains(p.body, `value="yes"`) {
				t.Fatalf("want a confirmation page, got %d", p.status)
			}
			// Still signed in until confirmed.
			if q := b.get(w.oauth.AuthCodeURL("x", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))); q.location == nil || q.location.Query().Get("code") == "" {
				t.Fatal("the session ended before the user confirmed")
			}
			form := p.hidden()
			form.Set("confirm", "yes")
			p = b.post(s.issuer+"/oauth/logout", form)
			if p.status != 200 || !strings.Contains(p.body, "signed out") {
				t.Fatalf("after confirming: %d", p.status)
			}
			if q := b.get(w.oauth.AuthCodeURL("y", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))); q.location == nil || q.location.Query().Get("error") != "login_required" {
				t.Fatal("still signed in after a confirmed logout")
			}
		})
		t.Run("an unregistered post_logout_redirect_uri is refused", func(t *testing.T) {
			p := newBrowser(t, s).get(s.issuer + "/oauth/logout?" + url.Values{"client_id": {w.client.ID}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
			if p.status != 400 || p.location != nil {
				t.Fatalf("got %d %v", p.status, p.location)
			}
		})
		t.Run("a forged id_token_hint is refused", func(t *testing.T) {
			p := newBrowser(t, s).get(s.issuer + "/oauth/logout?id_token_hint=eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
			if p.status != 400 {
				t.Fatalf("got %d", p.status)
			}
		})
	})
}

func TestRegisteredURLsStayOutOfPrivateNetworks(t *testing.T) {
	refusing := startServer(t, "sqlite", map[string]string{"OAUTH2_CIBA_NOTIFIER": "log"})
	allowing := startServer(t, "sqlite", map[string]string{"OAUTH2_OUTBOUND_PRIVATE_NETWORKS": "10.20.0.0/16, 127.0.0.1", "OAUTH2_ALLOW_LOCAL_OUTBOUND": "1"})
	tests := []struct {
		name     string
		s        *testServer
		metadata string
		wantErr  string // part of the error_description; "" for 201
	}{
		{name: "back-channel logout to loopback", s: refusing,
			metadata: `{"redirect_uris":["https://rp.example/cb"],"backchannel_logout_uri":"http://127.0.0.1:9000/logout"}`,
			wantErr:  "backchannel_logout_uri must lead to a public address: the server does not call 127.0.0.1"},
		{name: "back-channel logout to localhost", s: refusing,
			metadata: `{"redirect_uris":["https://rp.example/cb"],"backchannel_logout_uri":"http://localhost:9000/logout"}`,
			wantErr:  "the server does not call localhost"},
		{name: "jwks_uri on a private address", s: refusing,
			metadata: `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://10.20.1.1/jwks"}`,
			wantErr:  "jwks_uri must lead to a public address"},
		{name: "CIBA ping to the cloud metadata address", s: refusing,
			metadata: cibaPingMetadata("https://169.254.169.254/latest"),
			wantErr:  "backchannel_client_notification_endpoint must lead to a public address"},
		{name: "back-channel logout to an address the operator named", s: allowing,
			metadata: `{"redirect_uris":["https://rp.example/cb"],"backchannel_logout_uri":"http://127.0.0.1:9000/logout"}`},
		{name: "jwks_uri in a network the operator named", s: allowing,
			metadata: `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://10.20.1.1/jwks"}`},
		{name: "a named network does not open the rest of loopback", s: allowing,
			metadata: `{"redirect_uris":["https://rp.example/cb"],"backchannel_logout_uri":"http://127.0.0.2:9000/logout"}`,
			wantErr:  "the server does not call 127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tt.s.registerRaw(t, tt.s.regToken, tt.metadata)
			if tt.wantErr == "" {
				if status != http.StatusCreated {
					t.Fatalf("status %d: %s", status, body)
				}
				return
			}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			_ = json.Unmarshal(body, &e)
			if status != http.StatusBadRequest || e.Error != "invalid_client_metadata" || !strings.Contains(e.Description, tt.wantErr) {
				t.Fatalf("status %d: %s; want 400 invalid_client_metadata with %q", status, body, tt.wantErr)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	env := map[string]string{
		"OAUTH2_ADMIN_TOKEN":           "admin-token-" + randomHex(16),
		"OAUTH2_ACCESS_TOKEN_TTL":      "3s",
		"OAUTH2_ID_TOKEN_TTL":          "3s",
		"OAUTH2_KEY_PROPAGATION_DELAY": "2s",
		"OAUTH2_KEY_GRACE_PERIOD":      "3s",
	}
	s := startServer(t, "sqlite", env)
	ctx := context.Background()
	c := s.register(t, `{"grant_types":["client_credentials"],"scope":"a"}`)
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token"}
	token := func() string {
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	jwks := func() (map[string]bool, string) {
		resp, err := http.Get(s.issuer + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
			} `json:"keys"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&set)
		kids := map[string]bool{}
		for _, k := range set.Keys {
			kids[k.Kid] = true
		}
		return kids, resp.Header.Get("Cache-Control")
	}
	verifies := func(tok string) bool {
		// A fresh key set each time: no client-side cache.
		_, err := oidc.NewRemoteKeySet(ctx, s.issuer+"/.well-known/jwks.json").VerifySignature(ctx, tok)
		return err == nil
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	old := token()
	oldKid := jwtHeader(t, old)["kid"].(string)
	if _, cacheControl := jwks(); cacheControl != "public, max-age=2" {
		t.Fatalf("JWKS Cache-Control %q must follow the 2s propagation delay", cacheControl)
	}

	req, _ := http.NewRequest(http.MethodPost, s.issuer+"/admin/api/keys/rotate", nil)
	if resp, _ := doJSON(t, req); resp.StatusCode != 401 {
		t.Fatalf("rotation without the admin token: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, s.issuer+"/admin/api/keys/rotate", nil)
	req.Header.Set("Authorization", "Bearer "+env["OAUTH2_ADMIN_TOKEN"])
	resp, body := doJSON(t, req)
	rotated, _ := body["rotated"].([]any)
	if resp.StatusCode != 200 || len(rotated) != 4 {
		t.Fatalf("rotate: %d %v", resp.StatusCode, body)
	}
	var newKid string
	for _, k := range rotated {
		if k := k.(map[string]any); k["alg"] == "ES256" {
			newKid = k["kid"].(string)
		}
	}

	t.Run("the new key is published before it signs", func(t *testing.T) {
		kids, _ := jwks()
		if !kids[newKid] || !kids[oldKid] {
			t.Fatalf("JWKS %v must hold the old %s and the new %s", kids, oldKid, newKid)
		}
	})
	t.Run("after the propagation delay the new key signs and the old token still verifies", func(t *testing.T) {
		waitFor("tokens are signed by the new key", func() bool { return jwtHeader(t, token())["kid"] == newKid })
		if !verifies(old) {
			t.Fatal("a token signed by the rotated-out key must verify during the grace period")
		}
	})
	t.Run("after the grace period the old key is gone", func(t *testing.T) {
		waitFor("the old key leaves the JWKS", func() bool { kids, _ := jwks(); return !kids[oldKid] })
		if verifies(old) {
			t.Fatal("a token signed by an expired key must no longer verify")
		}
	})
}

func TestSecondReplicaSeesRotation(t *testing.T) {
	dbURL := "sqlite:" + t.TempDir() + "/shared.db"
	key := randomKey()
	env := map[string]string{"OAUTH2_DATABASE_URL": dbURL, "OAUTH2_KEY_ENCRYPTION_KEY": key, "OAUTH2_KEY_PROPAGATION_DELAY": "0s"}
	first := startServer(t, "sqlite", env)
	second := startServer(t, "sqlite", env)
	created, err := first.app.Provider.RotateKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(second.issuer + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), created[0].ID) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the second replica did not publish the rotated key within 5 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAccessTokenAlgorithm(t *testing.T) {
	for _, alg := range []string{"EdDSA", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			ctx := context.Background()
			s := startServer(t, "sqlite", map[string]string{"OAUTH2_ACCESS_TOKEN_ALG": alg})
			c := s.register(t, serviceClientMetadata)
			cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}

			t.Run("the access token is signed with the configured algorithm", func(t *testing.T) {
				if hdr := jwtHeader(t, tok.AccessToken); hdr["alg"] != alg || hdr["typ"] != "at+jwt" {
					t.Fatalf("access token header = %v, want alg %s, typ at+jwt", hdr, alg)
				}
				ks := oidc.NewRemoteKeySet(ctx, s.issuer+"/.well-known/jwks.json")
				if _, err := ks.VerifySignature(ctx, tok.AccessToken); err != nil {
					t.Fatalf("access token does not verify against the JWKS: %v", err)
				}
			})
			t.Run("introspection reads it active until it is revoked", func(t *testing.T) {
				if _, m := introspect(t, s, c, tok.AccessToken); m["active"] != true || m["client_id"] != c.ID {
					t.Fatalf("introspection = %v", m)
				}
				if status := revoke(t, s, c, tok.AccessToken); status != 200 {
					t.Fatalf("revocation status %d", status)
				}
				if _, m := introspect(t, s, c, tok.AccessToken); m["active"] != false {
					t.Fatalf("introspection after revocation = %v", m)
				}
			})
		})
	}
}
