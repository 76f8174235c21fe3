package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v3/cert"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"oauth2-server.dev/core"
)

// authority is a CA of the tests.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var certSerial atomic.Int64

// newCertificate makes a certificate for a fresh key, signed by ca or
// self-signed when ca is nil. The template is a client certificate of
// the ledger service; edit changes it.
func newCertificate(t *testing.T, ca *authority, edit func(*x509.Certificate)) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(certSerial.Add(1)),
		Subject:      pkix.Name{CommonName: "ledger", Organization: []string{"Example Corp"}, Country: []string{"DE"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames:    []string{"ledger.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	if edit != nil {
		edit(tmpl)
	}
	parent, signer := tmpl, crypto.Signer(key)
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func newAuthority(t *testing.T, parent *authority, name string) *authority {
	t.Helper()
	c, key := newCertificate(t, parent, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: name, Organization: []string{"Example Corp"}}
		c.IsCA, c.BasicConstraintsValid = true, true
		c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		c.DNSNames, c.ExtKeyUsage = nil, nil
	})
	return &authority{cert: c, key: key}
}

// clientCert is a client's certificate, its key, and the chain it sends.
type clientCert struct {
	cert *x509.Certificate
	pair tls.Certificate
}

func newClientCert(t *testing.T, ca *authority, edit func(*x509.Certificate)) *clientCert {
	t.Helper()
	c, key := newCertificate(t, ca, edit)
	pair := tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}
	if ca != nil {
		pair.Certificate = append(pair.Certificate, ca.cert.Raw)
	}
	return &clientCert{cert: c, pair: pair}
}

// x5t is the certificate's cnf.x5t#S256 (RFC 8705 §3.1), computed here
// on its own.
func (c *clientCert) x5t() string {
	sum := sha256.Sum256(c.cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// jwks is a JWK set holding the certificate's public key, with the
// certificate as x5c when withX5C is set.
func (c *clientCert) jwks(t *testing.T, withX5C bool) string {
	t.Helper()
	k, err := jwk.Import(c.cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if withX5C {
		var chain cert.Chain
		if err := chain.AddString(base64.StdEncoding.EncodeToString(c.cert.Raw)); err != nil {
			t.Fatal(err)
		}
		if err := k.Set(jwk.X509CertChainKey, &chain); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": []jwk.Key{k}})
	return string(b)
}

// testPKI is the certificates of a server: its TLS certificate from a
// server CA, and the client CA (a root, in the CA file, and an
// intermediate that issues client certificates).
type testPKI struct {
	serverRoots                     *x509.CertPool
	certFile, keyFile, clientCAFile string
	clientRoot, clientIssuer        *authority
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	serverCA := newAuthority(t, nil, "Example Server CA")
	serverCert, serverKey := newCertificate(t, serverCA, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: "127.0.0.1"}
		c.DNSNames, c.IPAddresses = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	keyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{serverRoots: x509.NewCertPool(), certFile: filepath.Join(dir, "tls.crt"),
		keyFile: filepath.Join(dir, "tls.key"), clientCAFile: filepath.Join(dir, "client-ca.pem")}
	p.serverRoots.AddCert(serverCA.cert)
	p.clientRoot = newAuthority(t, nil, "Example Client Root CA")
	p.clientIssuer = newAuthority(t, p.clientRoot, "Example Client Issuing CA")
	writePEM(t, p.certFile, "CERTIFICATE", serverCert.Raw, serverCA.cert.Raw)
	writePEM(t, p.keyFile, "PRIVATE KEY", keyDER)
	writePEM(t, p.clientCAFile, "CERTIFICATE", p.clientRoot.cert.Raw)
	return p
}

func writePEM(t *testing.T, file, typ string, blocks ...[]byte) {
	t.Helper()
	var b []byte
	for _, der := range blocks {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})...)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// client is a certificate issued by the client CA.
func (p *testPKI) client(t *testing.T, edit func(*x509.Certificate)) *clientCert {
	return newClientCert(t, p.clientIssuer, edit)
}

// httpClient trusts the server's certificate and presents c, when set,
// when the server asks for one. Each has connections of its own, so that
// no other certificate's connection is reused.
func httpClient(roots *x509.CertPool, c *clientCert) *http.Client {
	cfg := &tls.Config{RootCAs: roots}
	if c != nil {
		cfg.Certificates = []tls.Certificate{c.pair}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
}

// ctx makes x/oauth2 and go-oidc connect with c.
func (p *testPKI) ctx(c *clientCert) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, httpClient(p.serverRoots, c))
}

// startMTLSServer starts a server that serves HTTPS with p's certificate,
// asks for client certificates, and trusts p's client CA.
func startMTLSServer(t *testing.T, backend string, p *testPKI, env map[string]string) *testServer {
	t.Helper()
	vars := map[string]string{"OAUTH2_TLS_CERT_FILE": p.certFile, "OAUTH2_TLS_KEY_FILE": p.keyFile, "OAUTH2_TLS_CLIENT_CA_FILE": p.clientCAFile,
		// Refused certificates are failed authentications; the failure
		// guard has its own test.
		"OAUTH2_RATE_LIMIT_FAILURES": "10000/s:10000"}
	for k, v := range env {
		vars[k] = v
	}
	s := startServer(t, backend, vars)
	s.httpClient = httpClient(p.serverRoots, nil)
	return s
}

// post posts form to endpoint over client and decodes the JSON answer.
func post(t *testing.T, client *http.Client, endpoint string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return doJSONWith(t, client, req)
}

func doJSONWith(t *testing.T, client *http.Client, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// serviceToken runs client_credentials for a client that authenticates
// with its certificate, through x/oauth2.
func serviceToken(ctx context.Context, tokenURL string, c registered) (*oauth2.Token, error) {
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}
	if c.Secret != "" {
		cc.AuthStyle = oauth2.AuthStyleInHeader
	}
	return cc.Token(ctx)
}

func wantOAuthError(t *testing.T, err error, code string, status int, part string) {
	t.Helper()
	re := retrieveError(t, err)
	if re.ErrorCode != code || re.Response.StatusCode != status || !strings.Contains(re.ErrorDescription, part) {
		t.Fatalf("got %d %q %q, want %d %s mentioning %q", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription, status, code, part)
	}
}

const ledgerService = `"grant_types":["client_credentials"],"scope":"ledger:read"`

func TestMTLSDiscovery(t *testing.T) {
	p := newTestPKI(t)
	tests := []struct {
		name    string
		start   func(t *testing.T) *testServer
		bound   bool
		offered []string
		absent  []string
	}{
		{name: "TLS with a client CA offers both methods",
			start: func(t *testing.T) *testServer { return startMTLSServer(t, "sqlite", p, nil) },
			bound: true, offered: []string{"tls_client_auth", "self_signed_tls_client_auth"}},
		{name: "TLS without a client CA offers self-signed certificates only",
			start: func(t *testing.T) *testServer {
				return startMTLSServer(t, "sqlite", p, map[string]string{"OAUTH2_TLS_CLIENT_CA_FILE": ""})
			},
			bound: true, offered: []string{"self_signed_tls_client_auth"}, absent: []string{"tls_client_auth"}},
		{name: "TLS that asks for no certificates offers neither",
			start: func(t *testing.T) *testServer {
				return startMTLSServer(t, "sqlite", p, map[string]string{"OAUTH2_TLS_CLIENT_CA_FILE": "", "OAUTH2_TLS_CLIENT_CERTS": "0"})
			},
			absent: []string{"tls_client_auth", "self_signed_tls_client_auth"}},
		{name: "plain HTTP offers neither",
			start:  func(t *testing.T) *testServer { return startServer(t, "sqlite", nil) },
			absent: []string{"tls_client_auth", "self_signed_tls_client_auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.start(t)
			_, m := doJSONWith(t, s.client(), mustRequest(t, s.issuer+"/.well-known/openid-configuration"))
			if m["tls_client_certificate_bound_access_tokens"] != tt.bound {
				t.Errorf("tls_client_certificate_bound_access_tokens = %v, want %v", m["tls_client_certificate_bound_access_tokens"], tt.bound)
			}
			for _, key := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
				methods := anyStrings(m[key])
				for _, want := range tt.offered {
					if !slices.Contains(methods, want) {
						t.Errorf("%s = %v lacks %s", key, methods, want)
					}
				}
				for _, never := range tt.absent {
					if slices.Contains(methods, never) {
						t.Errorf("%s = %v offers %s", key, methods, never)
					}
				}
			}
			if _, ok := m["mtls_endpoint_aliases"]; ok {
				t.Error("mtls_endpoint_aliases advertised although the endpoints themselves take certificates")
			}
			if len(tt.offered) == 0 {
				status, body := s.registerRaw(t, s.regToken, `{`+ledgerService+`,"token_endpoint_auth_method":"self_signed_tls_client_auth","jwks_uri":"https://ledger.example.com/jwks"}`)
				if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client_metadata") {
					t.Errorf("registering a certificate client: %d %s", status, body)
				}
			}
		})
	}
}

func TestMTLSTLSClientAuth(t *testing.T) {
	p := newTestPKI(t)
	s := startMTLSServer(t, "sqlite", p, map[string]string{"OAUTH2_CIBA_NOTIFIER": "log"})
	tokenURL := s.issuer + "/oauth/token"
	leaf := p.client(t, nil)
	byDN := s.register(t, `{`+ledgerService+`,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"CN=ledger, O=Example Corp, C=DE"}`)
	byDNS := s.register(t, `{`+ledgerService+`,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"ledger.example.com"}`)
	otherDN := s.register(t, `{`+ledgerService+`,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"CN=payments,O=Example Corp,C=DE"}`)
	if byDN.Secret != "" || byDN.Raw["token_endpoint_auth_method"] != "tls_client_auth" || byDN.Raw["tls_client_auth_subject_dn"] == nil {
		t.Fatalf("registration response = %v", byDN.Raw)
	}

	for name, c := range map[string]registered{"a subject DN match": byDN, "a DNS SAN match": byDNS} {
		t.Run(name+" gets a token", func(t *testing.T) {
			tok, err := serviceToken(p.ctx(leaf), tokenURL, c)
			if err != nil {
				t.Fatalf("client_credentials with the certificate: %v", err)
			}
			if claims := jwtClaims(t, tok.AccessToken); claims["client_id"] != c.ID || claims["cnf"] != nil {
				t.Fatalf("claims = %v; want the client's token, not bound (the client did not ask)", claims)
			}
		})
	}
	untrusted := newClientCert(t, newAuthority(t, nil, "Rogue CA"), nil)
	expired := p.client(t, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	self := newClientCert(t, nil, nil)
	refused := []struct {
		name   string
		client registered
		cert   *clientCert
		part   string
	}{
		{name: "a certificate with another subject DN", client: otherDN, cert: leaf, part: "tls_client_auth_subject_dn"},
		{name: "a certificate of an untrusted CA", client: byDN, cert: untrusted, part: "not issued by a CA this server trusts"},
		{name: "a self-signed certificate with the right subject", client: byDN, cert: self, part: "not issued by a CA this server trusts"},
		{name: "an expired certificate", client: byDN, cert: expired, part: "expired"},
		{name: "no certificate", client: byDN, part: "no TLS client certificate"},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := serviceToken(p.ctx(tt.cert), tokenURL, tt.client)
			wantOAuthError(t, err, "invalid_client", http.StatusUnauthorized, tt.part)
		})
	}

	withCert := httpClient(p.serverRoots, leaf)
	t.Run("introspection and revocation authenticate by certificate", func(t *testing.T) {
		tok, err := serviceToken(p.ctx(leaf), tokenURL, byDN)
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"client_id": {byDN.ID}, "token": {tok.AccessToken}}
		if resp, m := post(t, httpClient(p.serverRoots, nil), s.issuer+"/oauth/introspect", form); resp.StatusCode != 401 || m["error"] != "invalid_client" {
			t.Fatalf("introspection without the certificate: %d %v", resp.StatusCode, m)
		}
		if resp, m := post(t, withCert, s.issuer+"/oauth/introspect", form); resp.StatusCode != 200 || m["active"] != true {
			t.Fatalf("introspection: %d %v", resp.StatusCode, m)
		}
		if resp, m := post(t, withCert, s.issuer+"/oauth/revoke", form); resp.StatusCode != 200 {
			t.Fatalf("revocation: %d %v", resp.StatusCode, m)
		}
		if _, m := post(t, withCert, s.issuer+"/oauth/introspect", form); m["active"] != false {
			t.Fatalf("the revoked token introspects as %v", m)
		}
	})
	t.Run("pushed authorization requests authenticate by certificate", func(t *testing.T) {
		web := s.register(t, `{"redirect_uris":["https://ledger.example.com/cb"],"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"ledger.example.com"}`)
		resp, m := post(t, withCert, s.issuer+"/oauth/par", url.Values{
			"client_id": {web.ID}, "response_type": {"code"}, "redirect_uri": {"https://ledger.example.com/cb"}, "scope": {"openid"},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		})
		if resp.StatusCode != http.StatusCreated || m["request_uri"] == nil {
			t.Fatalf("PAR: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("device authorization authenticates by certificate", func(t *testing.T) {
		tv := s.register(t, `{"grant_types":["`+core.GrantDeviceCode+`"],"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"C=DE+O=Example Corp,CN=ledger"}`)
		resp, m := post(t, withCert, s.issuer+"/oauth/device_authorization", url.Values{"client_id": {tv.ID}, "scope": {"openid"}})
		if resp.StatusCode != 401 {
			t.Fatalf("a DN with a multi-valued RDN matched a certificate without one: %d %v", resp.StatusCode, m)
		}
		tv = s.register(t, `{"grant_types":["`+core.GrantDeviceCode+`"],"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"cn=Ledger,o=example corp,c=de"}`)
		resp, m = post(t, withCert, s.issuer+"/oauth/device_authorization", url.Values{"client_id": {tv.ID}, "scope": {"openid"}})
		if resp.StatusCode != 200 || m["device_code"] == nil {
			t.Fatalf("device authorization: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("backchannel authentication authenticates by certificate", func(t *testing.T) {
		rp := s.register(t, `{"grant_types":["`+core.GrantCIBA+`"],"backchannel_token_delivery_mode":"poll","scope":"openid","token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"ledger.example.com"}`)
		form := url.Values{"client_id": {rp.ID}, "scope": {"openid"}, "login_hint": {testUser}}
		if resp, m := post(t, httpClient(p.serverRoots, untrusted), s.issuer+"/oauth/bc-authorize", form); resp.StatusCode != 401 || m["error"] != "invalid_client" {
			t.Fatalf("with an untrusted certificate: %d %v", resp.StatusCode, m)
		}
		if resp, m := post(t, withCert, s.issuer+"/oauth/bc-authorize", form); resp.StatusCode != 200 || m["auth_req_id"] == nil {
			t.Fatalf("CIBA: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("registration refuses a tls_client_auth client without exactly one subject", func(t *testing.T) {
		for _, md := range []string{
			`{` + ledgerService + `,"token_endpoint_auth_method":"tls_client_auth"}`,
			`{` + ledgerService + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"a.example","tls_client_auth_san_uri":"https://a.example"}`,
			`{` + ledgerService + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"not a DN"}`,
		} {
			status, body := s.registerRaw(t, s.regToken, md)
			if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client_metadata") {
				t.Errorf("%s: %d %s", md, status, body)
			}
		}
	})
}

func TestMTLSSelfSignedClientAuth(t *testing.T) {
	p := newTestPKI(t)
	s := startMTLSServer(t, "sqlite", p, nil)
	tokenURL := s.issuer + "/oauth/token"
	own, other := newClientCert(t, nil, nil), newClientCert(t, nil, nil)
	expired := newClientCert(t, nil, func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	})
	register := func(c *clientCert, withX5C bool) registered {
		return s.register(t, `{`+ledgerService+`,"token_endpoint_auth_method":"self_signed_tls_client_auth","jwks":`+c.jwks(t, withX5C)+`}`)
	}
	byX5C, byKey, expiredClient := register(own, true), register(own, false), register(expired, true)

	for name, c := range map[string]registered{"the registered x5c certificate": byX5C, "the registered public key": byKey} {
		t.Run(name+" gets a token", func(t *testing.T) {
			if _, err := serviceToken(p.ctx(own), tokenURL, c); err != nil {
				t.Fatalf("client_credentials: %v", err)
			}
		})
	}
	refused := []struct {
		name   string
		client registered
		cert   *clientCert
		part   string
	}{
		{name: "another key", client: byX5C, cert: other, part: "matches none of the client's registered keys"},
		{name: "a CA-issued certificate of another key", client: byKey, cert: p.client(t, nil), part: "matches none"},
		{name: "an expired registered certificate", client: expiredClient, cert: expired, part: "expired"},
		{name: "no certificate", client: byX5C, part: "no TLS client certificate"},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := serviceToken(p.ctx(tt.cert), tokenURL, tt.client)
			wantOAuthError(t, err, "invalid_client", http.StatusUnauthorized, tt.part)
		})
	}
	t.Run("registration needs the client's keys", func(t *testing.T) {
		status, body := s.registerRaw(t, s.regToken, `{`+ledgerService+`,"token_endpoint_auth_method":"self_signed_tls_client_auth"}`)
		if status != http.StatusBadRequest || !strings.Contains(string(body), "jwks") {
			t.Fatalf("%d %s", status, body)
		}
	})
}

// mtlsWebApp is a relying party of a server at s.issuer that serves
// HTTPS, itself or behind a proxy, with x/oauth2 and go-oidc reaching it
// through p's clients.
func mtlsWebApp(t *testing.T, s *testServer, p *testPKI, metadata string) *webApp {
	t.Helper()
	c := s.register(t, metadata)
	provider, err := oidc.NewProvider(p.ctx(nil), s.issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	redirect, _ := c.Raw["redirect_uris"].([]any)
	cfg := &oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile"}, RedirectURL: redirect[0].(string)}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if c.Secret == "" {
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: c.ID, SupportedSigningAlgs: []string{"RS256", "ES256", "PS256", "EdDSA"}})
	return &webApp{s: s, client: c, oauth: cfg, provider: provider, verifier: verifier}
}

// tlsBrowser is a browser that trusts the server's certificate and has
// no client certificate.
func tlsBrowser(t *testing.T, s *testServer, roots *x509.CertPool) *browser {
	b := newBrowser(t, s)
	b.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	return b
}

// userinfoOver calls UserInfo with a bearer token over client.
func userinfoOver(t *testing.T, client *http.Client, issuer, token string) userinfoResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, issuer+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, body := doJSONWith(t, client, req)
	return userinfoResult{status: resp.StatusCode, header: resp.Header, body: body}
}

func TestMTLSBoundTokens(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			p := newTestPKI(t)
			testBoundTokens(t, startMTLSServer(t, backend, p, nil), p)
		})
	}
}

// testBoundTokens drives certificate-bound tokens at s.issuer, where
// the server serves HTTPS itself or a proxy stands in front with p's
// server certificate.
func testBoundTokens(t *testing.T, s *testServer, p *testPKI) {
	ctxOf, connect, issuer := p.ctx, httpClient, s.issuer
	leaf, other := p.client(t, nil), newClientCert(t, nil, nil)
	tokenURL := issuer + "/oauth/token"

	t.Run("a service's token carries cnf.x5t#S256, and introspection shows it", func(t *testing.T) {
		svc := s.register(t, `{`+ledgerService+`,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"ledger.example.com","tls_client_certificate_bound_access_tokens":true}`)
		if svc.Raw["tls_client_certificate_bound_access_tokens"] != true {
			t.Fatalf("registration response = %v", svc.Raw)
		}
		tok, err := serviceToken(ctxOf(leaf), tokenURL, svc)
		if err != nil {
			t.Fatal(err)
		}
		cnf, _ := jwtClaims(t, tok.AccessToken)["cnf"].(map[string]any)
		if tok.Type() != "Bearer" || cnf["x5t#S256"] != leaf.x5t() {
			t.Fatalf("token_type %q, cnf %v; want Bearer bound to %s", tok.TokenType, cnf, leaf.x5t())
		}
		resp, m := post(t, connect(p.serverRoots, leaf), issuer+"/oauth/introspect", url.Values{"client_id": {svc.ID}, "token": {tok.AccessToken}})
		icnf, _ := m["cnf"].(map[string]any)
		if resp.StatusCode != 200 || m["active"] != true || icnf["x5t#S256"] != leaf.x5t() {
			t.Fatalf("introspection = %d %v", resp.StatusCode, m)
		}
	})
	t.Run("a secret client that asked for bound tokens must present a certificate", func(t *testing.T) {
		svc := s.register(t, `{`+ledgerService+`,"tls_client_certificate_bound_access_tokens":true}`)
		_, err := serviceToken(ctxOf(nil), tokenURL, svc)
		wantOAuthError(t, err, "invalid_request", http.StatusBadRequest, "tls_client_certificate_bound_access_tokens")
		tok, err := serviceToken(ctxOf(other), tokenURL, svc)
		if err != nil {
			t.Fatal(err)
		}
		if cnf, _ := jwtClaims(t, tok.AccessToken)["cnf"].(map[string]any); cnf["x5t#S256"] != other.x5t() {
			t.Fatalf("cnf = %v, want the self-signed certificate the secret client presented", cnf)
		}
	})
	t.Run("a client that did not ask gets unbound tokens with a certificate", func(t *testing.T) {
		svc := s.register(t, `{`+ledgerService+`}`)
		tok, err := serviceToken(ctxOf(other), tokenURL, svc)
		if err != nil || jwtClaims(t, tok.AccessToken)["cnf"] != nil {
			t.Fatalf("%v %v", tok, err)
		}
	})

	t.Run("userinfo takes a bound token only over a connection with its certificate", func(t *testing.T) {
		w := mtlsWebApp(t, s, p, `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","refresh_token"],"tls_client_certificate_bound_access_tokens":true}`)
		a := w.authorize(t, tlsBrowser(t, s, p.serverRoots))
		tok, err := w.oauth.Exchange(ctxOf(leaf), a.code(t, w), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("exchange with the certificate: %v", err)
		}
		if cnf, _ := jwtClaims(t, tok.AccessToken)["cnf"].(map[string]any); cnf["x5t#S256"] != leaf.x5t() {
			t.Fatalf("cnf = %v", cnf)
		}
		info, err := w.provider.UserInfo(ctxOf(leaf), oauth2.StaticTokenSource(tok))
		if err != nil || info.Subject == "" {
			t.Fatalf("go-oidc userinfo with the certificate: %+v %v", info, err)
		}
		for name, c := range map[string]*clientCert{"without a certificate": nil, "with another certificate": other} {
			t.Run(name+" it is refused", func(t *testing.T) {
				got := userinfoOver(t, connect(p.serverRoots, c), issuer, tok.AccessToken)
				ch := got.header.Get("WWW-Authenticate")
				if got.status != 401 || got.body["error"] != "invalid_token" || !strings.HasPrefix(ch, `Bearer error="invalid_token"`) {
					t.Fatalf("got %d %v %q", got.status, got.body, ch)
				}
			})
		}
		t.Run("its refresh token is not bound, the next access token is", func(t *testing.T) {
			next, err := w.oauth.TokenSource(ctxOf(other), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh with another certificate: %v", err)
			}
			if cnf, _ := jwtClaims(t, next.AccessToken)["cnf"].(map[string]any); cnf["x5t#S256"] != other.x5t() {
				t.Fatalf("cnf = %v, want the refreshing certificate", cnf)
			}
		})
	})

	t.Run("a public client's refresh token is bound to its certificate", func(t *testing.T) {
		w := mtlsWebApp(t, s, p, `{"application_type":"native","token_endpoint_auth_method":"none","redirect_uris":["http://127.0.0.1/cb"],
			"grant_types":["authorization_code","refresh_token"],"tls_client_certificate_bound_access_tokens":true}`)
		w.oauth.RedirectURL = "http://127.0.0.1:49200/cb"
		a := w.authorize(t, tlsBrowser(t, s, p.serverRoots))
		tok, err := w.oauth.Exchange(ctxOf(other), a.code(t, w), oauth2.VerifierOption(a.verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		refresh := func(ctx context.Context, rt string) (*oauth2.Token, error) {
			return w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
		}
		_, err = refresh(ctxOf(leaf), tok.RefreshToken)
		wantOAuthError(t, err, "invalid_grant", http.StatusBadRequest, "bound to a client certificate")
		_, err = refresh(ctxOf(nil), tok.RefreshToken)
		wantOAuthError(t, err, "invalid_request", http.StatusBadRequest, "present its TLS client certificate")
		next, err := refresh(ctxOf(other), tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh with the certificate: %v", err)
		}
		if cnf, _ := jwtClaims(t, next.AccessToken)["cnf"].(map[string]any); cnf["x5t#S256"] != other.x5t() || next.RefreshToken == tok.RefreshToken {
			t.Fatalf("refreshed: cnf %v", cnf)
		}
		if _, err := refresh(ctxOf(leaf), next.RefreshToken); err == nil {
			t.Fatal("the rotated refresh token works with another certificate")
		}
		if _, err := refresh(ctxOf(other), next.RefreshToken); err != nil {
			t.Fatalf("the rotated refresh token with its certificate: %v", err)
		}
	})
}

// certHeaders writes the headers a proxy of each format sends for a
// client certificate chain.
var certHeaders = map[string]func(h http.Header, name string, chain []*x509.Certificate){
	// nginx: proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
	"pem": func(h http.Header, name string, chain []*x509.Certificate) {
		h.Set(name, nginxEscape(pemOf(chain[0])))
	},
	// RFC 9440: Client-Cert and Client-Cert-Chain byte sequences.
	"rfc9440": func(h http.Header, name string, chain []*x509.Certificate) {
		h.Set(name, ":"+base64.StdEncoding.EncodeToString(chain[0].Raw)+":")
		var members []string
		for _, c := range chain[1:] {
			members = append(members, ":"+base64.StdEncoding.EncodeToString(c.Raw)+":")
		}
		if len(members) > 0 {
			h.Set(name+"-Chain", strings.Join(members, ", "))
		}
	},
	// Envoy: forward_client_cert_details SANITIZE_SET with cert and chain.
	"xfcc": func(h http.Header, name string, chain []*x509.Certificate) {
		var all string
		for _, c := range chain {
			all += pemOf(c)
		}
		h.Set(name, `By=spiffe://example.com/server;Hash=abc;Cert="`+nginxEscape(pemOf(chain[0]))+`";Chain="`+nginxEscape(all)+`";DNS=ledger.example.com`)
	},
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// nginxEscape escapes as nginx's $ssl_client_escaped_cert does.
func nginxEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// fromAddr is a client whose connections leave from the loopback address
// local, reaching the server at addr whatever the URL says.
func fromAddr(local, addr string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

func TestMTLSProxyHeader(t *testing.T) {
	headers := map[string]string{"pem": "X-Client-Cert", "rfc9440": "Client-Cert", "xfcc": "X-Forwarded-Client-Cert"}
	for _, format := range []string{"pem", "rfc9440", "xfcc"} {
		t.Run(format, func(t *testing.T) {
			name := headers[format]
			p := newTestPKI(t)
			// The proxy terminates TLS with p's server certificate, asks for
			// client certificates, and forwards to the server from
			// 127.0.0.2, the only address the server trusts.
			var upstream atomic.Value
			proxy := newCertProxy(t, p, func(in, out *http.Request) {
				// As nginx's proxy_set_header and Envoy's SANITIZE_SET do,
				// what the client sent under the name is dropped.
				out.Header.Del(name)
				out.Header.Del(name + "-Chain")
				if in.TLS != nil && len(in.TLS.PeerCertificates) > 0 {
					certHeaders[format](out.Header, name, in.TLS.PeerCertificates)
				}
			}, func() string { return upstream.Load().(string) })
			caFile := p.clientCAFile
			if format == "pem" {
				// nginx forwards the client's own certificate only, no
				// chain: the CA file holds the issuing CA as well.
				caFile = filepath.Join(t.TempDir(), "client-cas.pem")
				writePEM(t, caFile, "CERTIFICATE", p.clientRoot.cert.Raw, p.clientIssuer.cert.Raw)
			}
			s := startServer(t, "sqlite", map[string]string{
				"OAUTH2_ISSUER": proxy.url, "OAUTH2_CLIENT_CERT_HEADER": name, "OAUTH2_TRUSTED_PROXIES": "127.0.0.2",
				"OAUTH2_TLS_CLIENT_CA_FILE": caFile, "OAUTH2_RATE_LIMIT_FAILURES": "10000/s:10000",
			})
			upstream.Store(s.addr)
			leaf := p.client(t, nil)
			svc := s.register(t, `{`+ledgerService+`,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"CN=ledger,O=Example Corp,C=DE","tls_client_certificate_bound_access_tokens":true}`)

			t.Run("through the trusted proxy a certificate authenticates and binds", func(t *testing.T) {
				tok, err := serviceToken(p.ctx(leaf), proxy.url+"/oauth/token", svc)
				if err != nil {
					t.Fatalf("client_credentials through the proxy: %v", err)
				}
				if cnf, _ := jwtClaims(t, tok.AccessToken)["cnf"].(map[string]any); cnf["x5t#S256"] != leaf.x5t() {
					t.Fatalf("cnf = %v, want %s", cnf, leaf.x5t())
				}
			})
			t.Run("through the proxy without a certificate the client is refused", func(t *testing.T) {
				_, err := serviceToken(p.ctx(nil), proxy.url+"/oauth/token", svc)
				wantOAuthError(t, err, "invalid_client", http.StatusUnauthorized, "no TLS client certificate")
			})
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {svc.ID}}
			direct := func(local string, value string) (*http.Response, map[string]any) {
				req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/oauth/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if value != "" {
					req.Header.Set(name, value)
				} else {
					certHeaders[format](req.Header, name, []*x509.Certificate{leaf.cert, p.clientIssuer.cert})
				}
				return doJSONWith(t, fromAddr(local, s.addr), req)
			}
			t.Run("the header from an untrusted address is ignored", func(t *testing.T) {
				resp, m := direct("127.0.0.1", "")
				if resp.StatusCode != 401 || m["error"] != "invalid_client" || !strings.Contains(m["error_description"].(string), "no TLS client certificate") {
					t.Fatalf("a forged header was believed: %d %v", resp.StatusCode, m)
				}
			})
			t.Run("the header from the proxy's address is believed", func(t *testing.T) {
				if resp, m := direct("127.0.0.2", ""); resp.StatusCode != 200 {
					t.Fatalf("%d %v", resp.StatusCode, m)
				}
			})
			for what, value := range map[string]string{
				"a malformed header":  "MIIB-not-a-certificate",
				"an oversized header": strings.Repeat("A", 17<<10),
			} {
				t.Run(what+" is refused", func(t *testing.T) {
					resp, m := direct("127.0.0.2", value)
					if resp.StatusCode != 400 || m["error"] != "invalid_request" || !strings.Contains(m["error_description"].(string), http.CanonicalHeaderKey(name)) {
						t.Fatalf("got %d %v, want 400 invalid_request naming the header", resp.StatusCode, m)
					}
				})
			}
			if format == "pem" {
				// Everything else as the public sees it: at the proxy.
				front := *s
				front.issuer, front.httpClient = proxy.url, httpClient(p.serverRoots, nil)
				testBoundTokens(t, &front, p)
			}
		})
	}
}

// certProxy is a TLS-terminating reverse proxy in front of a server, as
// nginx or Envoy would be: it asks clients for certificates and forwards
// them in a header.
type certProxy struct{ url string }

// newCertProxy serves TLS with p's server certificate on 127.0.0.1 and
// forwards to upstream() from 127.0.0.2; setHeaders writes the outgoing
// request's headers from the incoming one.
func newCertProxy(t *testing.T, p *testPKI, setHeaders func(in, out *http.Request), upstream func() string) *certProxy {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(p.certFile, p.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: upstream()})
			setHeaders(pr.In, pr.Out)
		},
		Transport: &http.Transport{DialContext: d.DialContext},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	srv := &http.Server{
		Handler: rp, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12},
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return &certProxy{url: "https://" + ln.Addr().String()}
}
