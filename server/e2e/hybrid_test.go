package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const hybridClientMetadata = `{
	"client_name": "Hybrid App",
	"redirect_uris": ["https://app.example.com/callback"],
	"grant_types": ["authorization_code", "implicit", "refresh_token"],
	"response_types": ["code", "code id_token", "code token", "code id_token token"],
	"token_endpoint_auth_method": "client_secret_basic"
}`

// fragmentParams reads the parameters an authorization response carries in
// the redirect URI's fragment, and fails if any travel in its query.
func fragmentParams(t *testing.T, loc *url.URL) url.Values {
	t.Helper()
	if loc.RawQuery != "" {
		t.Fatalf("a fragment response has a query too: %s", loc)
	}
	q, err := url.ParseQuery(loc.EscapedFragment())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// verifyCHash checks an ID token's c_hash. OIDC Core §3.3.2.11 builds it
// like at_hash, over the code, so go-oidc's at_hash check does the work.
func verifyCHash(t *testing.T, idt *oidc.IDToken, code string) {
	t.Helper()
	var claims struct {
		CHash string `json:"c_hash"`
	}
	if err := idt.Claims(&claims); err != nil || claims.CHash == "" {
		t.Fatalf("ID token has no c_hash (%v)", err)
	}
	asCode := *idt
	asCode.AccessTokenHash = claims.CHash
	if err := asCode.VerifyAccessToken(code); err != nil {
		t.Fatalf("c_hash does not match the code: %v", err)
	}
}

func TestHybridFlows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		w := newWebApp(t, s, hybridClientMetadata)
		for _, rt := range []string{"code id_token", "code token", "code id_token token"} {
			t.Run(rt, func(t *testing.T) {
				a := w.authorize(t, newBrowser(t, s), oauth2.SetAuthURLParam("response_type", rt))
				f := fragmentParams(t, a.redirect)
				code := f.Get("code")
				if code == "" || f.Get("state") != a.state || f.Get("iss") != s.issuer {
					t.Fatalf("fragment %v", f)
				}
				at := f.Get("access_token")
				if slices.Contains(strings.Fields(rt), "token") != (at != "") {
					t.Fatalf("response_type %s: access_token present = %v", rt, at != "")
				}
				if at != "" {
					if f.Get("token_type") != "Bearer" || f.Get("expires_in") == "" {
						t.Fatalf("fragment %v", f)
					}
					if f.Get("refresh_token") != "" {
						t.Fatal("a refresh token travelled through the browser")
					}
					if info := userinfo(t, s, http.MethodGet, at); info.status != http.StatusOK {
						t.Fatalf("the front-channel access token at userinfo: %d %v", info.status, info.body)
					}
				}
				if slices.Contains(strings.Fields(rt), "id_token") {
					idt, err := w.verifier.Verify(ctx, f.Get("id_token"))
					if err != nil {
						t.Fatalf("front-channel ID token: %v", err)
					}
					if idt.Nonce != a.nonce {
						t.Fatalf("nonce %q, want %q", idt.Nonce, a.nonce)
					}
					verifyCHash(t, idt, code)
					if at != "" {
						if err := idt.VerifyAccessToken(at); err != nil {
							t.Fatalf("at_hash: %v", err)
						}
					} else if idt.AccessTokenHash != "" {
						t.Fatal("at_hash without an access token")
					}
				} else if f.Get("id_token") != "" {
					t.Fatal("an ID token the response type did not ask for")
				}

				tok, err := w.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
				if err != nil {
					t.Fatalf("exchange the hybrid code: %v", err)
				}
				w.verifyIDToken(t, tok, a.nonce)
				if tok.RefreshToken == "" {
					t.Fatal("the token endpoint issued no refresh token")
				}
				if at == "" {
					return
				}
				t.Run("a replayed code revokes the front-channel access token too", func(t *testing.T) {
					_, err := w.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
					if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
						t.Fatalf("replay: %v", err)
					}
					for name, token := range map[string]string{"front-channel": at, "token endpoint": tok.AccessToken} {
						if _, m := introspect(t, s, w.client, token); m["active"] != false {
							t.Fatalf("the %s access token survived the replay: %v", name, m)
						}
					}
					if info := userinfo(t, s, http.MethodGet, at); info.status != http.StatusUnauthorized {
						t.Fatalf("userinfo after the replay: %d", info.status)
					}
				})
			})
		}
	})
}

func TestHybridRefusals(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	w := newWebApp(t, s, hybridClientMetadata)
	plain := newWebApp(t, s, webClientMetadata)
	b := newBrowser(t, s)
	// A first flow signs the user in and records consent.
	w.authorize(t, b)
	plain.authorize(t, b)

	tests := []struct {
		name  string
		app   *webApp
		opts  []oauth2.AuthCodeOption
		error string
	}{
		{name: "code id_token without a nonce", app: w, error: "invalid_request",
			opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "code id_token")}},
		{name: "response_mode query with tokens", app: w, error: "invalid_request",
			opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "code token"), oauth2.SetAuthURLParam("response_mode", "query")}},
		{name: "the implicit flow", app: w, error: "unsupported_response_type",
			opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "token")}},
		{name: "a client registered for code only", app: plain, error: "unauthorized_client",
			opts: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_type", "code token")}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused in the fragment", func(t *testing.T) {
			p := b.get(tt.app.oauth.AuthCodeURL("st", append([]oauth2.AuthCodeOption{oauthS256(t)}, tt.opts...)...))
			if p.location == nil {
				t.Fatalf("got %d %s", p.status, p.body)
			}
			if f := fragmentParams(t, p.location); f.Get("error") != tt.error || f.Get("state") != "st" || f.Get("iss") != s.issuer {
				t.Fatalf("fragment %v, want error %s", f, tt.error)
			}
		})
	}
	t.Run("form_post carries the hybrid response in the posted form", func(t *testing.T) {
		nonce := randomHex(8)
		p := b.get(w.oauth.AuthCodeURL("st", oauthS256(t), oidc.Nonce(nonce),
			oauth2.SetAuthURLParam("response_type", "code id_token"), oauth2.SetAuthURLParam("response_mode", "form_post")))
		form := p.hidden()
		if p.status != http.StatusOK || form.Get("code") == "" || form.Get("state") != "st" {
			t.Fatalf("form_post page %d: %v", p.status, form)
		}
		idt, err := w.verifier.Verify(context.Background(), form.Get("id_token"))
		if err != nil || idt.Nonce != nonce {
			t.Fatalf("posted ID token: %v", err)
		}
		verifyCHash(t, idt, form.Get("code"))
	})
	registrations := []struct{ name, metadata string }{
		{name: "hybrid response types without the implicit grant",
			metadata: `{"redirect_uris":["https://app.example.com/callback"],"response_types":["code id_token"]}`},
		{name: "the implicit-only response type",
			metadata: `{"redirect_uris":["https://app.example.com/callback"],"grant_types":["implicit"],"response_types":["id_token"]}`},
		{name: "encrypted authorization responses",
			metadata: `{"redirect_uris":["https://app.example.com/callback"],"authorization_encrypted_response_alg":"RSA-OAEP-256","authorization_encrypted_response_enc":"A128GCM"}`},
		{name: "an unsupported authorization response algorithm",
			metadata: `{"redirect_uris":["https://app.example.com/callback"],"authorization_signed_response_alg":"none"}`},
	}
	for _, tt := range registrations {
		t.Run("registration refuses "+tt.name, func(t *testing.T) {
			status, body := s.registerRaw(t, s.regToken, tt.metadata)
			if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client_metadata") {
				t.Fatalf("register: %d %s", status, body)
			}
		})
	}
}
