package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// dpopClient is the client side of DPoP (RFC 9449): a key pair, the
// proofs it signs, and an http.RoundTripper that puts a proof on every
// request, adds ath for DPoP-bound access tokens, keeps the server's
// latest DPoP-Nonce and retries once when the server asks for a nonce.
// golang.org/x/oauth2 and go-oidc send their requests through it.
type dpopClient struct {
	t    *testing.T
	alg  jwa.SignatureAlgorithm
	priv jwk.Key
	pub  jwk.Key
	jkt  string
	// origin, when set, replaces the scheme and host of the request URL
	// in htu: the public URL of replicas behind a load balancer.
	origin string

	mu      sync.Mutex
	nonce   string
	retries atomic.Int32
}

func newDPoPClient(t *testing.T, alg string) *dpopClient {
	t.Helper()
	var raw crypto.Signer
	var err error
	var sigAlg jwa.SignatureAlgorithm
	switch alg {
	case "ES256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sigAlg = jwa.ES256()
	case "EdDSA":
		_, raw, err = ed25519.GenerateKey(rand.Reader)
		sigAlg = jwa.EdDSA()
	case "PS256":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
		sigAlg = jwa.PS256()
	default:
		t.Fatalf("no key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &dpopClient{t: t, alg: sigAlg, priv: priv, pub: pub, jkt: base64.RawURLEncoding.EncodeToString(tp)}
}

// proofSpec is what goes into one proof; the zero fields take the
// values of a good proof.
type proofSpec struct {
	typ, htm, htu, jti, ath, nonce string
	iat                            time.Time
	noNonce                        bool
	// jwk replaces the public key in the header.
	jwk jwk.Key
}

// proof signs a proof of a request with method to target, carrying
// accessToken's hash when set, and the latest nonce.
func (c *dpopClient) proof(method, target, accessToken string) string {
	return c.proofWith(proofSpec{htm: method, htu: target, ath: ath(accessToken)})
}

func (c *dpopClient) proofWith(p proofSpec) string {
	c.t.Helper()
	if p.typ == "" {
		p.typ = "dpop+jwt"
	}
	if p.jti == "" {
		p.jti = randomHex(16)
	}
	if p.iat.IsZero() {
		p.iat = time.Now()
	}
	if p.nonce == "" && !p.noNonce {
		c.mu.Lock()
		p.nonce = c.nonce
		c.mu.Unlock()
	}
	if p.jwk == nil {
		p.jwk = c.pub
	}
	claims := map[string]any{"jti": p.jti, "htm": p.htm, "htu": p.htu, "iat": p.iat.Unix()}
	if p.ath != "" {
		claims["ath"] = p.ath
	}
	if p.nonce != "" {
		claims["nonce"] = p.nonce
	}
	payload, _ := json.Marshal(claims)
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, p.typ)
	_ = hdr.Set(jws.JWKKey, p.jwk)
	signed, err := jws.Sign(payload, jws.WithKey(c.alg, c.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(signed)
}

func ath(accessToken string) string {
	if accessToken == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// htu is the proof's view of a request URL: without query and fragment,
// under origin when one is set.
func (c *dpopClient) htu(u *url.URL) string {
	v := *u
	v.RawQuery, v.Fragment = "", ""
	if c.origin != "" {
		o, _ := url.Parse(c.origin)
		v.Scheme, v.Host = o.Scheme, o.Host
	}
	return v.String()
}

// RoundTrip implements http.RoundTripper.
func (c *dpopClient) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.send(req)
	if err != nil || !askedForNonce(resp) {
		return resp, err
	}
	// RFC 9449 §8.1: retry with the nonce the error came with.
	resp.Body.Close()
	c.retries.Add(1)
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return c.send(retry)
}

func (c *dpopClient) send(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	var token string
	if scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "DPoP") {
		token = value
	}
	r.Header.Set("DPoP", c.proof(r.Method, c.htu(r.URL), token))
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if n := resp.Header.Get("DPoP-Nonce"); n != "" {
		c.mu.Lock()
		c.nonce = n
		c.mu.Unlock()
	}
	return resp, nil
}

// askedForNonce reports whether the server answered use_dpop_nonce: a
// 400 error body at the token endpoint, a 401 challenge at a resource.
func askedForNonce(resp *http.Response) bool {
	if resp.StatusCode == http.StatusUnauthorized {
		return strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`)
	}
	if resp.StatusCode != http.StatusBadRequest {
		return false
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(body, &e) == nil && e.Error == "use_dpop_nonce"
}

// ctx is a context that makes x/oauth2 and go-oidc send their requests
// with this client's proofs.
func (c *dpopClient) ctx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: c})
}

// dpopPost posts form to endpoint as client c (Basic authentication when
// it has a secret, client_id otherwise) with the given DPoP headers.
func dpopPost(t *testing.T, endpoint string, c registered, form url.Values, proofs ...string) (*http.Response, map[string]any) {
	t.Helper()
	form = cloneValues(form)
	if c.Secret == "" {
		form.Set("client_id", c.ID)
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return doJSON(t, req)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// dpopUserinfo calls UserInfo with the DPoP scheme and the given proofs.
func dpopUserinfo(t *testing.T, s *testServer, scheme, token string, proofs ...string) userinfoResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", scheme+" "+token)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, body := doJSON(t, req)
	return userinfoResult{status: resp.StatusCode, header: resp.Header, body: body}
}

const serviceClientMetadata = `{"client_name":"Ledger","grant_types":["client_credentials"],"scope":"ledger:read"}`

func TestDPoPClientCredentials(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		c := s.register(t, serviceClientMetadata)
		for _, alg := range []string{"ES256", "EdDSA", "PS256"} {
			t.Run("a token bound to a key signing "+alg, func(t *testing.T) {
				key := newDPoPClient(t, alg)
				cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
				tok, err := cc.Token(key.ctx())
				if err != nil {
					t.Fatalf("client_credentials with DPoP: %v", err)
				}
				if tok.Type() != "DPoP" {
					t.Fatalf("token_type = %q, want DPoP", tok.TokenType)
				}
				cnf, _ := jwtClaims(t, tok.AccessToken)["cnf"].(map[string]any)
				if cnf["jkt"] != key.jkt {
					t.Fatalf("cnf = %v, want jkt %s", cnf, key.jkt)
				}
				status, m := introspect(t, s, c, tok.AccessToken)
				icnf, _ := m["cnf"].(map[string]any)
				if status != 200 || m["active"] != true || m["token_type"] != "DPoP" || icnf["jkt"] != key.jkt {
					t.Fatalf("introspection = %d %v", status, m)
				}
			})
		}

		key := newDPoPClient(t, "ES256")
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(key.ctx())
		if err != nil {
			t.Fatal(err)
		}
		t.Run("introspection with a valid proof answers", func(t *testing.T) {
			resp, m := dpopPost(t, s.issuer+"/oauth/introspect", c, url.Values{"token": {tok.AccessToken}}, key.proof("POST", s.issuer+"/oauth/introspect", ""))
			if resp.StatusCode != 200 || m["active"] != true {
				t.Fatalf("introspection = %d %v", resp.StatusCode, m)
			}
		})
		t.Run("revocation refuses an invalid proof and leaves the token alone", func(t *testing.T) {
			resp, m := dpopPost(t, s.issuer+"/oauth/revoke", c, url.Values{"token": {tok.AccessToken}}, key.proof("POST", s.issuer+"/oauth/token", ""))
			if resp.StatusCode != 400 || m["error"] != "invalid_dpop_proof" {
				t.Fatalf("revocation = %d %v", resp.StatusCode, m)
			}
			if _, m := introspect(t, s, c, tok.AccessToken); m["active"] != true {
				t.Fatalf("the token was revoked by a refused request: %v", m)
			}
		})
		t.Run("revocation with a valid proof revokes", func(t *testing.T) {
			resp, _ := dpopPost(t, s.issuer+"/oauth/revoke", c, url.Values{"token": {tok.AccessToken}}, key.proof("POST", s.issuer+"/oauth/revoke", ""))
			if resp.StatusCode != 200 {
				t.Fatalf("revocation = %d", resp.StatusCode)
			}
			if _, m := introspect(t, s, c, tok.AccessToken); m["active"] != false {
				t.Fatalf("revoked token introspects as %v", m)
			}
		})
		t.Run("without a proof the token is a bearer token", func(t *testing.T) {
			plain, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if plain.Type() != "Bearer" || jwtClaims(t, plain.AccessToken)["cnf"] != nil {
				t.Fatalf("token_type %q, claims %v", plain.TokenType, jwtClaims(t, plain.AccessToken))
			}
		})
		t.Run("a client registered with dpop_bound_access_tokens must send a proof", func(t *testing.T) {
			strict := s.register(t, `{"grant_types":["client_credentials"],"scope":"ledger:read","dpop_bound_access_tokens":true}`)
			if strict.Raw["dpop_bound_access_tokens"] != true {
				t.Fatalf("registration response = %v", strict.Raw)
			}
			cc := clientcredentials.Config{ClientID: strict.ID, ClientSecret: strict.Secret, TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
			_, err := cc.Token(context.Background())
			if re := retrieveError(t, err); re.ErrorCode != "invalid_dpop_proof" || re.Response.StatusCode != 400 {
				t.Fatalf("without a proof: %q %d", re.ErrorCode, re.Response.StatusCode)
			}
			if tok, err := cc.Token(key.ctx()); err != nil || tok.Type() != "DPoP" {
				t.Fatalf("with a proof: %v %v", tok, err)
			}
		})
		t.Run("discovery advertises the proof algorithms", func(t *testing.T) {
			_, m := doJSON(t, mustRequest(t, s.issuer+"/.well-known/openid-configuration"))
			algs := anyStrings(m["dpop_signing_alg_values_supported"])
			for _, want := range []string{"ES256", "RS256", "PS256", "EdDSA"} {
				if !slices.Contains(algs, want) {
					t.Errorf("dpop_signing_alg_values_supported = %v lacks %s", algs, want)
				}
			}
			for _, never := range []string{"none", "HS256", "HS384", "HS512"} {
				if slices.Contains(algs, never) {
					t.Errorf("dpop_signing_alg_values_supported offers %s", never)
				}
			}
		})
	})
}

func TestDPoPProofsAreChecked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		c := s.register(t, serviceClientMetadata)
		key := newDPoPClient(t, "ES256")
		other := newDPoPClient(t, "ES256")
		token := s.issuer + "/oauth/token"
		form := url.Values{"grant_type": {"client_credentials"}}
		enc := base64.RawURLEncoding
		seg := func(v string) string { return enc.EncodeToString([]byte(v)) }
		good := key.proof("POST", token, "")
		parts := strings.Split(good, ".")

		resp, m := dpopPost(t, token, c, form, good)
		if resp.StatusCode != 200 || m["token_type"] != "DPoP" {
			t.Fatalf("a good proof: %d %v", resp.StatusCode, m)
		}
		tests := []struct {
			name   string
			proofs []string
		}{
			{name: "a replayed proof", proofs: []string{good}},
			{name: "a proof for GET", proofs: []string{key.proofWith(proofSpec{htm: "GET", htu: token})}},
			{name: "a proof for another endpoint", proofs: []string{key.proofWith(proofSpec{htm: "POST", htu: s.issuer + "/oauth/userinfo"})}},
			{name: "a proof for another server", proofs: []string{key.proofWith(proofSpec{htm: "POST", htu: "https://elsewhere.example/oauth/token"})}},
			{name: "an expired proof", proofs: []string{key.proofWith(proofSpec{htm: "POST", htu: token, iat: time.Now().Add(-10 * time.Minute)})}},
			{name: "a proof from the future", proofs: []string{key.proofWith(proofSpec{htm: "POST", htu: token, iat: time.Now().Add(10 * time.Minute)})}},
			{name: "a proof typed JWT", proofs: []string{key.proofWith(proofSpec{typ: "JWT", htm: "POST", htu: token})}},
			{name: "a proof carrying its private key", proofs: []string{key.proofWith(proofSpec{htm: "POST", htu: token, jwk: key.priv})}},
			{name: "a proof naming another key than its signer", proofs: []string{key.proofWith(proofSpec{htm: "POST", htu: token, jwk: other.pub})}},
			{name: "a proof with a forged signature", proofs: []string{parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))}},
			{name: "an unsigned proof", proofs: []string{seg(`{"typ":"dpop+jwt","alg":"none","jwk":{"kty":"EC"}}`) + "." + parts[1] + "."}},
			{name: "an HMAC proof", proofs: []string{seg(`{"typ":"dpop+jwt","alg":"HS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}`) + "." + parts[1] + ".c2ln"}},
			{name: "an oversized proof", proofs: []string{good + strings.Repeat("A", 9000)}},
			{name: "a value that is no JWT", proofs: []string{"not-a-proof"}},
			{name: "two DPoP headers", proofs: []string{key.proof("POST", token, ""), key.proof("POST", token, "")}},
		}
		for _, tt := range tests {
			t.Run(tt.name+" is refused", func(t *testing.T) {
				resp, m := dpopPost(t, token, c, form, tt.proofs...)
				if resp.StatusCode != 400 || m["error"] != "invalid_dpop_proof" || m["error_description"] == "" {
					t.Fatalf("got %d %v, want 400 invalid_dpop_proof with a description", resp.StatusCode, m)
				}
				if resp.Header.Get("Cache-Control") != "no-store" || m["access_token"] != nil {
					t.Fatalf("headers %v, body %v", resp.Header, m)
				}
			})
		}
		t.Run("the same jti under another key is accepted", func(t *testing.T) {
			jti := randomHex(8)
			for _, k := range []*dpopClient{key, other} {
				if resp, m := dpopPost(t, token, c, form, k.proofWith(proofSpec{htm: "POST", htu: token, jti: jti})); resp.StatusCode != 200 {
					t.Fatalf("%d %v", resp.StatusCode, m)
				}
			}
		})
	})
}

const nativeDPoPMetadata = `{"client_name":"Phone app","application_type":"native","token_endpoint_auth_method":"none",
	"redirect_uris":["http://127.0.0.1/callback"],"grant_types":["authorization_code","refresh_token"]}`

func TestDPoPAuthorizationCodeAndRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		w := newWebApp(t, s, nativeDPoPMetadata)
		w.oauth.RedirectURL = "http://127.0.0.1:49152/callback"
		key := newDPoPClient(t, "ES256")
		other := newDPoPClient(t, "ES256")
		b := newBrowser(t, s)

		// RFC 9449 §10: dpop_jkt binds the code to the key at once.
		a := w.authorize(t, b, oauth2.SetAuthURLParam("dpop_jkt", key.jkt))
		tok, err := w.oauth.Exchange(key.ctx(), a.code(t, w), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("exchange with DPoP: %v", err)
		}
		w.verifyIDToken(t, tok, a.nonce)
		if tok.Type() != "DPoP" || tok.RefreshToken == "" {
			t.Fatalf("token_type %q, refresh token %q", tok.TokenType, tok.RefreshToken)
		}
		if cnf, _ := jwtClaims(t, tok.AccessToken)["cnf"].(map[string]any); cnf["jkt"] != key.jkt {
			t.Fatalf("cnf = %v", cnf)
		}

		for _, tc := range []struct {
			name string
			ctx  context.Context
		}{
			{name: "a dpop_jkt code without a proof is refused", ctx: context.Background()},
			{name: "a dpop_jkt code with a proof of another key is refused", ctx: other.ctx()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := w.authorize(t, b, oauth2.SetAuthURLParam("dpop_jkt", key.jkt))
				_, err := w.oauth.Exchange(tc.ctx, a.code(t, w), oauth2.VerifierOption(a.verifier))
				if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
					t.Fatalf("got %q, want invalid_grant", re.ErrorCode)
				}
			})
		}
		t.Run("a malformed dpop_jkt goes back to the client", func(t *testing.T) {
			p := b.get(w.oauth.AuthCodeURL("st", oauthS256(t), oauth2.SetAuthURLParam("dpop_jkt", "short")))
			if p.location == nil || p.location.Query().Get("error") != "invalid_request" {
				t.Fatalf("got %d %v", p.status, p.location)
			}
		})

		t.Run("userinfo through go-oidc with DPoP", func(t *testing.T) {
			info, err := w.provider.UserInfo(key.ctx(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var claims struct {
				Username string `json:"preferred_username"`
			}
			if err := info.Claims(&claims); err != nil || claims.Username != testUser || info.Subject == "" {
				t.Fatalf("userinfo = %+v %+v %v", info, claims, err)
			}
		})
		userinfoURL := s.issuer + "/oauth/userinfo"
		t.Run("a bound token as a bearer token is refused", func(t *testing.T) {
			info := userinfo(t, s, http.MethodGet, tok.AccessToken)
			ch := info.header.Values("WWW-Authenticate")
			if info.status != 401 || info.body["error"] != "invalid_token" || len(ch) != 2 ||
				!strings.HasPrefix(ch[0], `Bearer error="invalid_token"`) || !strings.HasPrefix(ch[1], `DPoP algs="`) {
				t.Fatalf("got %d %v %q", info.status, info.body, ch)
			}
		})
		refused := []struct {
			name, code string
			proofs     []string
		}{
			{name: "the DPoP scheme without a proof", code: "invalid_dpop_proof"},
			{name: "a proof without ath", code: "invalid_dpop_proof", proofs: []string{key.proof("GET", userinfoURL, "")}},
			{name: "a proof for POST", code: "invalid_dpop_proof", proofs: []string{key.proof("POST", userinfoURL, tok.AccessToken)}},
			{name: "a proof for the token endpoint", code: "invalid_dpop_proof", proofs: []string{key.proof("GET", s.issuer+"/oauth/token", tok.AccessToken)}},
			{name: "an expired proof", code: "invalid_dpop_proof", proofs: []string{key.proofWith(proofSpec{htm: "GET", htu: userinfoURL, ath: ath(tok.AccessToken), iat: time.Now().Add(-time.Hour)})}},
			{name: "a proof of another key", code: "invalid_token", proofs: []string{other.proof("GET", userinfoURL, tok.AccessToken)}},
		}
		for _, tc := range refused {
			t.Run(tc.name+" is refused with a DPoP challenge", func(t *testing.T) {
				info := dpopUserinfo(t, s, "DPoP", tok.AccessToken, tc.proofs...)
				ch := info.header.Get("WWW-Authenticate")
				if info.status != 401 || info.body["error"] != tc.code || !strings.HasPrefix(ch, `DPoP error="`+tc.code+`"`) || !strings.Contains(ch, `algs="`) {
					t.Fatalf("got %d %v %q", info.status, info.body, ch)
				}
			})
		}
		t.Run("a replayed userinfo proof is refused", func(t *testing.T) {
			proof := key.proof("GET", userinfoURL, tok.AccessToken)
			if info := dpopUserinfo(t, s, "DPoP", tok.AccessToken, proof); info.status != 200 {
				t.Fatalf("first use: %d %v", info.status, info.body)
			}
			if info := dpopUserinfo(t, s, "DPoP", tok.AccessToken, proof); info.status != 401 || info.body["error"] != "invalid_dpop_proof" {
				t.Fatalf("replay: %d %v", info.status, info.body)
			}
		})

		// RFC 9449 §5: the public client's refresh token is bound too.
		refresh := func(ctx context.Context, rt string) (*oauth2.Token, error) {
			return w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
		}
		t.Run("refreshing without a proof is refused", func(t *testing.T) {
			_, err := refresh(context.Background(), tok.RefreshToken)
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Fatalf("got %q, want invalid_grant", re.ErrorCode)
			}
		})
		t.Run("refreshing with another key is refused", func(t *testing.T) {
			_, err := refresh(other.ctx(), tok.RefreshToken)
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Fatalf("got %q, want invalid_grant", re.ErrorCode)
			}
		})
		t.Run("refreshing with the bound key works and stays bound", func(t *testing.T) {
			next, err := refresh(key.ctx(), tok.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if next.Type() != "DPoP" || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
				t.Fatalf("refreshed: %q %q", next.TokenType, next.RefreshToken)
			}
			if cnf, _ := jwtClaims(t, next.AccessToken)["cnf"].(map[string]any); cnf["jkt"] != key.jkt {
				t.Fatalf("cnf = %v", cnf)
			}
			if _, err := refresh(other.ctx(), next.RefreshToken); err == nil {
				t.Fatal("the rotated refresh token works with another key")
			}
			if _, err := refresh(key.ctx(), next.RefreshToken); err != nil {
				t.Fatalf("the rotated refresh token with its key: %v", err)
			}
		})
	})
}

func TestDPoPPushedRequestAndConfidentialRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		w := newWebApp(t, s, webClientMetadata)
		key := newDPoPClient(t, "ES256")
		other := newDPoPClient(t, "ES256")
		push := func(t *testing.T, proofs ...string) (string, authorization) {
			a := authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
			resp, m := dpopPost(t, s.issuer+"/oauth/par", w.client, url.Values{
				"response_type": {"code"}, "redirect_uri": {w.oauth.RedirectURL}, "scope": {"openid profile"},
				"state": {a.state}, "nonce": {a.nonce},
				"code_challenge": {oauth2.S256ChallengeFromVerifier(a.verifier)}, "code_challenge_method": {"S256"},
			}, proofs...)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("PAR: %d %v", resp.StatusCode, m)
			}
			return m["request_uri"].(string), a
		}
		redeem := func(t *testing.T, b *browser, uri string, a authorization) authorization {
			p := b.get(s.issuer + "/oauth/authorize?" + url.Values{"client_id": {w.client.ID}, "request_uri": {uri}}.Encode())
			if p.isLogin() {
				p = b.login(p, testUser, testPassword)
			}
			if p.isConsent() {
				p = b.decide(p, "allow")
			}
			if p.location == nil {
				t.Fatalf("no redirect to the client: %d %s", p.status, p.body)
			}
			a.redirect = p.location
			return a
		}
		b := newBrowser(t, s)

		// RFC 9449 §10.1: a proof at the PAR endpoint binds the code.
		uri, a := push(t, key.proof("POST", s.issuer+"/oauth/par", ""))
		a = redeem(t, b, uri, a)
		t.Run("the pushed code needs the pushing key", func(t *testing.T) {
			_, err := w.oauth.Exchange(other.ctx(), a.code(t, w), oauth2.VerifierOption(a.verifier))
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Fatalf("got %q, want invalid_grant", re.ErrorCode)
			}
		})
		uri, a = push(t, key.proof("POST", s.issuer+"/oauth/par", ""))
		a = redeem(t, b, uri, a)
		tok, err := w.oauth.Exchange(key.ctx(), a.code(t, w), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("exchange with the pushing key: %v", err)
		}
		if tok.Type() != "DPoP" {
			t.Fatalf("token_type = %q", tok.TokenType)
		}
		t.Run("a proof for another endpoint is refused at PAR", func(t *testing.T) {
			resp, m := dpopPost(t, s.issuer+"/oauth/par", w.client, url.Values{"response_type": {"code"}}, key.proof("POST", s.issuer+"/oauth/token", ""))
			if resp.StatusCode != 400 || m["error"] != "invalid_dpop_proof" {
				t.Fatalf("got %d %v", resp.StatusCode, m)
			}
		})
		t.Run("a confidential client's refresh token is not bound to the key", func(t *testing.T) {
			next, err := w.oauth.TokenSource(other.ctx(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh with another key: %v", err)
			}
			if cnf, _ := jwtClaims(t, next.AccessToken)["cnf"].(map[string]any); next.Type() != "DPoP" || cnf["jkt"] != other.jkt {
				t.Fatalf("the new access token is not bound to the refreshing key: %q %v", next.TokenType, cnf)
			}
			plain, err := w.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: next.RefreshToken}).Token()
			if err != nil || plain.Type() != "Bearer" {
				t.Fatalf("refresh without a proof: %v %v", plain, err)
			}
		})
	})
}

func TestDPoPNonces(t *testing.T) {
	env := map[string]string{"OAUTH2_DATABASE_URL": "sqlite:" + t.TempDir() + "/shared.db", "OAUTH2_KEY_ENCRYPTION_KEY": randomKey(), "OAUTH2_DPOP_NONCE": "1"}
	s := startServer(t, "sqlite", env)
	// The second replica serves the same issuer behind the same public
	// URL; the test reaches it at its own address.
	replicaEnv := withEnv(env, "OAUTH2_ISSUER", s.issuer)
	replica := startServer(t, "sqlite", replicaEnv)
	c := s.register(t, serviceClientMetadata)
	token := s.issuer + "/oauth/token"
	form := url.Values{"grant_type": {"client_credentials"}}
	key := newDPoPClient(t, "ES256")

	resp, m := dpopPost(t, token, c, form, key.proof("POST", token, ""))
	nonce := resp.Header.Get("DPoP-Nonce")
	if resp.StatusCode != 400 || m["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("a proof without a nonce: %d %v, DPoP-Nonce %q", resp.StatusCode, m, nonce)
	}
	t.Run("a made-up nonce is refused", func(t *testing.T) {
		resp, m := dpopPost(t, token, c, form, key.proofWith(proofSpec{htm: "POST", htu: token, nonce: "made-up"}))
		if resp.StatusCode != 400 || m["error"] != "use_dpop_nonce" || resp.Header.Get("DPoP-Nonce") == "" {
			t.Fatalf("got %d %v", resp.StatusCode, m)
		}
	})
	t.Run("the server's nonce is accepted and a fresh one comes back", func(t *testing.T) {
		resp, m := dpopPost(t, token, c, form, key.proofWith(proofSpec{htm: "POST", htu: token, nonce: nonce}))
		if resp.StatusCode != 200 || m["token_type"] != "DPoP" || resp.Header.Get("DPoP-Nonce") == "" {
			t.Fatalf("got %d %v", resp.StatusCode, m)
		}
	})
	t.Run("another replica accepts the nonce", func(t *testing.T) {
		resp, m := dpopPost(t, replica.issuer+"/oauth/token", c, form, key.proofWith(proofSpec{htm: "POST", htu: token, nonce: nonce}))
		if resp.StatusCode != 200 || m["token_type"] != "DPoP" {
			t.Fatalf("got %d %v", resp.StatusCode, m)
		}
	})
	t.Run("a proof used on one replica is refused on another", func(t *testing.T) {
		proof := key.proofWith(proofSpec{htm: "POST", htu: token, nonce: nonce})
		if resp, m := dpopPost(t, token, c, form, proof); resp.StatusCode != 200 {
			t.Fatalf("first use: %d %v", resp.StatusCode, m)
		}
		resp, m := dpopPost(t, replica.issuer+"/oauth/token", c, form, proof)
		if resp.StatusCode != 400 || m["error"] != "invalid_dpop_proof" {
			t.Fatalf("replay on the other replica: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("x/oauth2 gets through by retrying with the nonce", func(t *testing.T) {
		fresh := newDPoPClient(t, "ES256")
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: token, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cc.Token(fresh.ctx())
		if err != nil || tok.Type() != "DPoP" {
			t.Fatalf("client_credentials: %v %v", tok, err)
		}
		if n := fresh.retries.Load(); n != 1 {
			t.Fatalf("the client retried %d times, want once", n)
		}
		if _, err := cc.Token(fresh.ctx()); err != nil || fresh.retries.Load() != 1 {
			t.Fatalf("with the nonce kept from the last answer: %v, retries %d", err, fresh.retries.Load())
		}
	})
	t.Run("userinfo asks for a nonce with a 401 challenge", func(t *testing.T) {
		w := newWebApp(t, s, nativeDPoPMetadata)
		w.oauth.RedirectURL = "http://127.0.0.1:49153/callback"
		user := newDPoPClient(t, "ES256")
		a := w.authorize(t, newBrowser(t, s))
		tok, err := w.oauth.Exchange(user.ctx(), a.code(t, w), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatal(err)
		}
		userinfoURL := s.issuer + "/oauth/userinfo"
		info := dpopUserinfo(t, s, "DPoP", tok.AccessToken, user.proofWith(proofSpec{htm: "GET", htu: userinfoURL, ath: ath(tok.AccessToken), noNonce: true}))
		ch, nonce := info.header.Get("WWW-Authenticate"), info.header.Get("DPoP-Nonce")
		if info.status != 401 || !strings.HasPrefix(ch, `DPoP error="use_dpop_nonce"`) || nonce == "" {
			t.Fatalf("got %d %v %q, DPoP-Nonce %q", info.status, info.body, ch, nonce)
		}
		info = dpopUserinfo(t, s, "DPoP", tok.AccessToken, user.proofWith(proofSpec{htm: "GET", htu: userinfoURL, ath: ath(tok.AccessToken), nonce: nonce}))
		if info.status != 200 || info.body["sub"] == nil {
			t.Fatalf("with the nonce: %d %v", info.status, info.body)
		}
		if _, err := w.provider.UserInfo(user.ctx(), oauth2.StaticTokenSource(tok)); err != nil {
			t.Fatalf("go-oidc userinfo: %v", err)
		}
	})
	t.Run("discovery still advertises DPoP", func(t *testing.T) {
		_, m := doJSON(t, mustRequest(t, s.issuer+"/.well-known/oauth-authorization-server"))
		if len(anyStrings(m["dpop_signing_alg_values_supported"])) == 0 {
			t.Fatalf("metadata = %v", m)
		}
	})
}

// withEnv returns a copy of m with the given variables set.
func withEnv(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
