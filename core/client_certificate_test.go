package core

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/cert"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"oauth2-server.dev/core/mtls"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// testCA issues certificates for the tests.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var serial atomic.Int64

// issue makes a certificate for a fresh key, signed by ca, or
// self-signed when ca is nil; edit changes the template.
func issue(t *testing.T, ca *testCA, edit func(*x509.Certificate)) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: "ledger", Organization: []string{"Example Corp"}, Country: []string{"DE"}},
		NotBefore:    testNow.Add(-time.Hour), NotAfter: testNow.Add(24 * time.Hour),
		DNSNames:       []string{"ledger.example.com"},
		URIs:           []*url.URL{{Scheme: "spiffe", Host: "example.com", Path: "/ledger"}},
		IPAddresses:    []net.IP{net.ParseIP("192.0.2.7")},
		EmailAddresses: []string{"ledger@example.com"},
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
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

func newTestCA(t *testing.T, parent *testCA, name string) *testCA {
	c, key := issue(t, parent, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: name}
		c.IsCA, c.BasicConstraintsValid = true, true
		c.KeyUsage = x509.KeyUsageCertSign
		c.DNSNames, c.URIs, c.IPAddresses, c.EmailAddresses, c.ExtKeyUsage = nil, nil, nil, nil, nil
	})
	return &testCA{cert: c, key: key}
}

// certificateJWKS is a JWK set of the certificate's public key, with the
// certificate as x5c when withX5C is set.
func certificateJWKS(t *testing.T, c *x509.Certificate, withX5C bool) string {
	t.Helper()
	k, err := jwk.Import(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if withX5C {
		var chain cert.Chain
		if err := chain.AddString(base64.StdEncoding.EncodeToString(c.Raw)); err != nil {
			t.Fatal(err)
		}
		if err := k.Set(jwk.X509CertChainKey, &chain); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": []jwk.Key{k}})
	return string(b)
}

// mtlsFixture is a provider that receives client certificates and
// trusts a client CA whose intermediate issues the clients'
// certificates.
type mtlsFixture struct {
	p            *Provider
	store        *testStore
	root, issuer *testCA
	// leaf is the certificate of the tls_client_auth clients, chain its
	// chain without the root.
	leaf  *x509.Certificate
	chain []*x509.Certificate
	// selfSigned is the certificate of the self_signed_tls_client_auth
	// client.
	selfSigned *x509.Certificate
}

func newMTLSFixture(t *testing.T) *mtlsFixture {
	t.Helper()
	root := newTestCA(t, nil, "Example Root CA")
	inter := newTestCA(t, root, "Example Client CA")
	pool := x509.NewCertPool()
	pool.AddCert(root.cert)
	p, store := newTestProvider(t, Config{ClientCertificates: true, ClientCAs: pool})
	f := &mtlsFixture{p: p, store: store, root: root, issuer: inter}
	f.leaf, _ = issue(t, inter, nil)
	f.chain = []*x509.Certificate{f.leaf, inter.cert}
	f.selfSigned, _ = issue(t, nil, nil)
	return f
}

func (f *mtlsFixture) client(t *testing.T, id, secret, metadata string) {
	t.Helper()
	if _, err := f.p.EnsureClient(context.Background(), id, secret, []byte(metadata)); err != nil {
		t.Fatalf("EnsureClient %s: %v", id, err)
	}
}

func (f *mtlsFixture) authenticate(id string, certs ...*x509.Certificate) (*ports.Client, error) {
	return f.p.AuthenticateClient(context.Background(), ClientCredentials{ID: id, Method: ports.AuthMethodNone, Certificates: certs})
}

func wantDescription(t *testing.T, err error, code, part string) {
	t.Helper()
	wantCode(t, err, code)
	if d := AsError(err).Description; !strings.Contains(d, part) {
		t.Fatalf("description %q does not mention %q", d, part)
	}
}

func TestTLSClientAuth(t *testing.T) {
	f := newMTLSFixture(t)
	service := `"grant_types":["client_credentials"],"scope":"api","token_endpoint_auth_method":"tls_client_auth"`
	for id, member := range map[string]string{
		"by-dn":    `"tls_client_auth_subject_dn":"CN=ledger, O=Example Corp, C=DE"`,
		"by-dns":   `"tls_client_auth_san_dns":"ledger.example.com"`,
		"by-uri":   `"tls_client_auth_san_uri":"spiffe://example.com/ledger"`,
		"by-ip":    `"tls_client_auth_san_ip":"192.0.2.7"`,
		"by-email": `"tls_client_auth_san_email":"ledger@example.com"`,
		"other-dn": `"tls_client_auth_subject_dn":"CN=payments,O=Example Corp,C=DE"`,
	} {
		f.client(t, id, "", "{"+service+","+member+"}")
	}
	other := newTestCA(t, nil, "Other CA")
	foreign, _ := issue(t, other, nil)
	expired, _ := issue(t, f.issuer, func(c *x509.Certificate) { c.NotAfter = testNow.Add(-time.Minute) })
	early, _ := issue(t, f.issuer, func(c *x509.Certificate) { c.NotBefore = testNow.Add(time.Hour) })
	serverOnly, _ := issue(t, f.issuer, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })
	// The client's certificate with a byte of the CA's signature changed.
	forgedDER := slices.Clone(f.leaf.Raw)
	forgedDER[len(forgedDER)-2] ^= 0x01
	forged, err := x509.ParseCertificate(forgedDER)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		id       string
		certs    []*x509.Certificate
		wantPart string // part of the invalid_client description; "" for success
	}{
		{name: "a subject DN match", id: "by-dn", certs: f.chain},
		{name: "a DNS SAN match", id: "by-dns", certs: f.chain},
		{name: "a URI SAN match", id: "by-uri", certs: f.chain},
		{name: "an IP SAN match", id: "by-ip", certs: f.chain},
		{name: "an email SAN match", id: "by-email", certs: f.chain},
		{name: "another subject DN", id: "other-dn", certs: f.chain, wantPart: "tls_client_auth_subject_dn"},
		{name: "no certificate", id: "by-dn", wantPart: "no TLS client certificate"},
		{name: "a chain without its intermediate", id: "by-dn", certs: f.chain[:1], wantPart: "not issued by a CA this server trusts"},
		{name: "a certificate of an untrusted CA", id: "by-dn", certs: []*x509.Certificate{foreign, other.cert}, wantPart: "not issued by a CA this server trusts"},
		{name: "a self-signed certificate", id: "by-dn", certs: []*x509.Certificate{f.selfSigned}, wantPart: "not issued by a CA this server trusts"},
		{name: "an expired certificate", id: "by-dn", certs: []*x509.Certificate{expired, f.issuer.cert}, wantPart: "expired"},
		{name: "a certificate not valid yet", id: "by-dn", certs: []*x509.Certificate{early, f.issuer.cert}, wantPart: "not valid yet"},
		{name: "a certificate for servers only", id: "by-dn", certs: []*x509.Certificate{serverOnly, f.issuer.cert}, wantPart: "extended key usage"},
		{name: "a certificate whose CA signature is broken", id: "by-dn", certs: []*x509.Certificate{forged, f.issuer.cert}, wantPart: "not issued by a CA this server trusts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.authenticate(tt.id, tt.certs...)
			if tt.wantPart != "" {
				wantDescription(t, err, "invalid_client", tt.wantPart)
				return
			}
			if err != nil || c.ID != tt.id {
				t.Fatalf("AuthenticateClient = %v, %v", c, err)
			}
		})
	}
	t.Run("a certificate client cannot use a secret instead", func(t *testing.T) {
		_, err := f.p.AuthenticateClient(context.Background(), ClientCredentials{ID: "by-dn", Secret: "x", Method: ports.AuthMethodSecretBasic, Certificates: f.chain})
		wantCode(t, err, "invalid_client")
	})
	t.Run("a reloaded CA pool is used", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(other.cert)
		f.p.SetClientCAs(pool)
		defer func() {
			back := x509.NewCertPool()
			back.AddCert(f.root.cert)
			f.p.SetClientCAs(back)
		}()
		_, err := f.authenticate("by-dn", f.chain...)
		wantDescription(t, err, "invalid_client", "not issued by a CA")
	})
}

func TestSelfSignedTLSClientAuth(t *testing.T) {
	f := newMTLSFixture(t)
	method := `"grant_types":["client_credentials"],"scope":"api","token_endpoint_auth_method":"self_signed_tls_client_auth"`
	f.client(t, "by-key", "", "{"+method+`,"jwks":`+certificateJWKS(t, f.selfSigned, false)+"}")
	f.client(t, "by-x5c", "", "{"+method+`,"jwks":`+certificateJWKS(t, f.selfSigned, true)+"}")
	other, _ := issue(t, nil, nil)
	expired, _ := issue(t, nil, func(c *x509.Certificate) { c.NotAfter = testNow.Add(-time.Minute) })
	f.client(t, "expired", "", "{"+method+`,"jwks":`+certificateJWKS(t, expired, true)+"}")
	// The same certificate with a byte of its signature changed.
	mangledDER := slices.Clone(f.selfSigned.Raw)
	mangledDER[len(mangledDER)-2] ^= 0x01
	mangled, err := x509.ParseCertificate(mangledDER)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		id       string
		certs    []*x509.Certificate
		wantPart string
	}{
		{name: "the registered public key", id: "by-key", certs: []*x509.Certificate{f.selfSigned}},
		{name: "the registered x5c certificate", id: "by-x5c", certs: []*x509.Certificate{f.selfSigned}},
		{name: "a CA-issued certificate of another key", id: "by-key", certs: []*x509.Certificate{f.leaf}, wantPart: "matches none"},
		{name: "another key", id: "by-x5c", certs: []*x509.Certificate{other}, wantPart: "matches none"},
		{name: "no certificate", id: "by-key", wantPart: "no TLS client certificate"},
		{name: "an expired certificate", id: "expired", certs: []*x509.Certificate{expired}, wantPart: "expired"},
		{name: "a certificate whose self-signature is broken", id: "by-x5c", certs: []*x509.Certificate{mangled}, wantPart: "signature does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.authenticate(tt.id, tt.certs...)
			if tt.wantPart != "" {
				wantDescription(t, err, "invalid_client", tt.wantPart)
				return
			}
			if err != nil || c.ID != tt.id {
				t.Fatalf("AuthenticateClient = %v, %v", c, err)
			}
		})
	}

	t.Run("a rotated certificate at jwks_uri is fetched again", func(t *testing.T) {
		var served atomic.Value
		served.Store(certificateJWKS(t, other, true))
		var fetches atomic.Int32
		// The test clock stands still: let a refetch happen at once.
		f.p.jwksCache.minRefetch = 0
		f.p.jwksCache.client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			fetches.Add(1)
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(served.Load().(string)))}, nil
		})}
		f.client(t, "by-uri", "", "{"+method+`,"jwks_uri":"https://client.example/jwks.json"}`)
		if _, err := f.authenticate("by-uri", other); err != nil {
			t.Fatalf("the certificate at jwks_uri: %v", err)
		}
		served.Store(certificateJWKS(t, f.selfSigned, true))
		if _, err := f.authenticate("by-uri", f.selfSigned); err != nil {
			t.Fatalf("the rotated certificate: %v", err)
		}
		if n := fetches.Load(); n != 2 {
			t.Fatalf("jwks_uri fetched %d times, want 2", n)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCertificateRegistration(t *testing.T) {
	f := newMTLSFixture(t)
	noCA, _ := newTestProvider(t, Config{ClientCertificates: true})
	none, _ := newTestProvider(t, Config{})
	cc := `"grant_types":["client_credentials"],"scope":"api"`
	jwks := certificateJWKS(t, f.selfSigned, true)
	tests := []struct {
		name     string
		p        *Provider
		metadata string
		wantPart string // part of the invalid_client_metadata description; "" when accepted
	}{
		{name: "tls_client_auth with a subject DN", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"CN=ledger,O=Example Corp"}`},
		{name: "tls_client_auth with a DNS SAN", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"ledger.example.com"}`},
		{name: "self_signed_tls_client_auth with jwks", p: noCA, metadata: `{` + cc + `,"token_endpoint_auth_method":"self_signed_tls_client_auth","jwks":` + jwks + `}`},
		{name: "bound tokens for a secret client", p: noCA, metadata: `{` + cc + `,"tls_client_certificate_bound_access_tokens":true}`},
		{name: "bound tokens off without certificates", p: none, metadata: `{` + cc + `,"tls_client_certificate_bound_access_tokens":false}`},

		{name: "tls_client_auth without a subject", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth"}`, wantPart: "exactly one"},
		{name: "tls_client_auth with two subjects", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"a.example","tls_client_auth_san_ip":"192.0.2.1"}`, wantPart: "exactly one"},
		{name: "a DN that does not parse", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_subject_dn":"ledger"}`, wantPart: "tls_client_auth_subject_dn"},
		{name: "a DNS SAN that is no name", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"a b"}`, wantPart: "tls_client_auth_san_dns"},
		{name: "a subject that is no string", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_ip":7}`, wantPart: "must be a string"},
		{name: "tls_client_auth without a client CA", p: noCA, metadata: `{` + cc + `,"token_endpoint_auth_method":"tls_client_auth","tls_client_auth_san_dns":"a.example"}`, wantPart: "not supported"},
		{name: "self_signed_tls_client_auth without certificates", p: none, metadata: `{` + cc + `,"token_endpoint_auth_method":"self_signed_tls_client_auth","jwks":` + jwks + `}`, wantPart: "not supported"},
		{name: "self_signed_tls_client_auth without keys", p: f.p, metadata: `{` + cc + `,"token_endpoint_auth_method":"self_signed_tls_client_auth"}`, wantPart: "needs jwks or jwks_uri"},
		{name: "bound tokens without certificates", p: none, metadata: `{` + cc + `,"tls_client_certificate_bound_access_tokens":true}`, wantPart: "receives no TLS client certificates"},
		{name: "bound tokens that are no boolean", p: f.p, metadata: `{` + cc + `,"tls_client_certificate_bound_access_tokens":"yes"}`, wantPart: "must be a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.p.buildClient([]byte(tt.metadata))
			if tt.wantPart != "" {
				wantDescription(t, err, "invalid_client_metadata", tt.wantPart)
				return
			}
			if err != nil {
				t.Fatalf("buildClient: %v", err)
			}
			if c.SecretHash != "" || usesSecret(c) && isCertificateMethod(c.TokenEndpointAuth) {
				t.Fatal("a certificate client was given a secret")
			}
		})
	}
}

func TestCertificateDiscovery(t *testing.T) {
	f := newMTLSFixture(t)
	noCA, _ := newTestProvider(t, Config{ClientCertificates: true})
	none, _ := newTestProvider(t, Config{})
	tests := []struct {
		name       string
		p          *Provider
		bound      bool
		methods    []string
		notOffered []string
	}{
		{name: "certificates and a client CA offer both methods", p: f.p, bound: true, methods: []string{AuthMethodTLSClient, AuthMethodSelfSignedTLSClient}},
		{name: "certificates without a CA offer self-signed only", p: noCA, bound: true, methods: []string{AuthMethodSelfSignedTLSClient}, notOffered: []string{AuthMethodTLSClient}},
		{name: "no certificates offer neither", p: none, notOffered: []string{AuthMethodTLSClient, AuthMethodSelfSignedTLSClient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.p.Metadata()
			if m["tls_client_certificate_bound_access_tokens"] != tt.bound {
				t.Errorf("tls_client_certificate_bound_access_tokens = %v", m["tls_client_certificate_bound_access_tokens"])
			}
			for _, key := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
				got := m[key].([]string)
				for _, want := range tt.methods {
					if !slices.Contains(got, want) {
						t.Errorf("%s = %v lacks %s", key, got, want)
					}
				}
				for _, never := range tt.notOffered {
					if slices.Contains(got, never) {
						t.Errorf("%s = %v offers %s", key, got, never)
					}
				}
			}
			if _, ok := m["mtls_endpoint_aliases"]; ok {
				t.Error("mtls_endpoint_aliases advertised, but the main endpoints take certificates")
			}
		})
	}
}

// x5tOf is the cnf.x5t#S256 of a JWT access token.
func x5tOf(t *testing.T, token string) any {
	t.Helper()
	return accessTokenCnf(t, token)["x5t#S256"]
}

func TestCertificateBoundTokens(t *testing.T) {
	ctx := context.Background()
	f := newMTLSFixture(t)
	other, _ := issue(t, nil, nil)
	thumb := mtls.Thumbprint(f.selfSigned)
	f.client(t, "bound-svc", "svc-secret-0123456789", `{"grant_types":["client_credentials","urn:ietf:params:oauth:grant-type:token-exchange"],"scope":"api","tls_client_certificate_bound_access_tokens":true,"token_exchange":{"impersonation":true}}`)
	f.client(t, "plain-svc", "plain-secret-0123456789", `{"grant_types":["client_credentials"],"scope":"api"}`)
	f.client(t, "bound-web", "web-secret-0123456789", `{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"],"tls_client_certificate_bound_access_tokens":true}`)
	f.client(t, "bound-native", "", `{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none","tls_client_certificate_bound_access_tokens":true}`)
	user := &ports.User{ID: "u1", Tenant: f.p.cfg.Tenant, Username: "alice", CreatedAt: testNow}
	if err := f.store.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	d := &dpopFixture{p: f.p, store: f.store, user: user, verifier: strings.Repeat("v", 43), redirect: "https://app.example/cb"}
	secretCred := func(id, sec string, certs ...*x509.Certificate) ClientCredentials {
		return ClientCredentials{ID: id, Secret: sec, Method: ports.AuthMethodSecretBasic, Certificates: certs}
	}
	token := func(cred ClientCredentials, form url.Values) (*TokenResponse, error) {
		return f.p.Token(ctx, TokenRequest{Client: cred, Form: form})
	}
	cc := url.Values{"grant_type": {GrantClientCredentials}}
	svc := secretCred("bound-svc", "svc-secret-0123456789", f.selfSigned)

	resp, err := token(svc, cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the access token carries cnf.x5t#S256", func(t *testing.T) {
		if resp.TokenType != TokenTypeBearer || x5tOf(t, resp.AccessToken) != thumb {
			t.Fatalf("token_type %q, cnf %v; want Bearer bound to %s", resp.TokenType, accessTokenCnf(t, resp.AccessToken), thumb)
		}
		in, _, err := f.p.Introspect(ctx, svc, resp.AccessToken, DPoPProof{})
		if err != nil || !in.Active || in.Cnf["x5t#S256"] != thumb || in.TokenType != TokenTypeBearer {
			t.Fatalf("introspection = %+v, %v", in, err)
		}
	})
	t.Run("a bound client without a certificate is refused", func(t *testing.T) {
		_, err := token(secretCred("bound-svc", "svc-secret-0123456789"), cc)
		wantDescription(t, err, "invalid_request", "tls_client_certificate_bound_access_tokens")
	})
	t.Run("a bound client with an expired certificate is refused", func(t *testing.T) {
		expired, _ := issue(t, nil, func(c *x509.Certificate) { c.NotAfter = testNow.Add(-time.Second) })
		_, err := token(secretCred("bound-svc", "svc-secret-0123456789", expired), cc)
		wantDescription(t, err, "invalid_request", "expired")
	})
	t.Run("a client not registered for bound tokens gets bearer tokens", func(t *testing.T) {
		resp, err := token(secretCred("plain-svc", "plain-secret-0123456789", f.selfSigned), cc)
		if err != nil || accessTokenCnf(t, resp.AccessToken) != nil {
			t.Fatalf("%+v, %v", resp, err)
		}
	})
	t.Run("a bound token is exchanged only with its certificate", func(t *testing.T) {
		form := url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {resp.AccessToken}, "subject_token_type": {TokenTypeAccessToken}}
		_, err := token(secretCred("bound-svc", "svc-secret-0123456789", other), form)
		wantDescription(t, err, "invalid_grant", "bound to a client certificate")
		exchanged, err := token(svc, form)
		if err != nil || x5tOf(t, exchanged.AccessToken) != thumb {
			t.Fatalf("exchange with the certificate: %+v, %v", exchanged, err)
		}
	})
	t.Run("DPoP and a certificate bind together", func(t *testing.T) {
		key := newProofKey(t)
		both, err := f.p.Token(ctx, TokenRequest{Client: svc, Form: cc, DPoP: key.tokenProof(t, f.p)})
		if err != nil {
			t.Fatal(err)
		}
		cnf := accessTokenCnf(t, both.AccessToken)
		if both.TokenType != TokenTypeDPoP || cnf["jkt"] != key.jkt || cnf["x5t#S256"] != thumb {
			t.Fatalf("token_type %q, cnf %v", both.TokenType, cnf)
		}
	})

	t.Run("userinfo", func(t *testing.T) {
		web := secretCred("bound-web", "web-secret-0123456789", f.selfSigned)
		resp, err := d.exchange(web, d.code(t, "bound-web", ""), DPoPProof{})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name     string
			certs    []*x509.Certificate
			wantPart string
		}{
			{name: "with the certificate answers", certs: []*x509.Certificate{f.selfSigned}},
			{name: "without a certificate is refused", wantPart: "present it over a TLS connection with that certificate"},
			{name: "with another certificate is refused", certs: []*x509.Certificate{other}, wantPart: "another client certificate"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				info, err := f.p.Userinfo(ctx, ResourceRequest{Token: resp.AccessToken, Scheme: TokenTypeBearer, Certificates: tt.certs})
				if tt.wantPart != "" {
					wantDescription(t, err, "invalid_token", tt.wantPart)
					if AsError(err).Status != http.StatusUnauthorized {
						t.Fatalf("status %d, want 401", AsError(err).Status)
					}
					return
				}
				if err != nil || info.Sub != user.ID {
					t.Fatalf("Userinfo = %+v, %v", info, err)
				}
			})
		}
		t.Run("a confidential client's refresh token is not bound", func(t *testing.T) {
			rec, err := f.store.GetToken(ctx, f.p.cfg.Tenant, secret.Digest(resp.RefreshToken))
			if err != nil || rec.X5TS256 != "" {
				t.Fatalf("refresh token record %+v, %v", rec, err)
			}
			next, err := d.refresh(secretCred("bound-web", "web-secret-0123456789", other), resp.RefreshToken, DPoPProof{})
			if err != nil || x5tOf(t, next.AccessToken) != mtls.Thumbprint(other) {
				t.Fatalf("refresh with another certificate: %+v, %v; want its access token bound to that certificate", next, err)
			}
		})
	})

	t.Run("a public client's refresh token is bound", func(t *testing.T) {
		native := ClientCredentials{ID: "bound-native", Method: ports.AuthMethodNone, Certificates: []*x509.Certificate{f.selfSigned}}
		resp, err := d.exchange(native, d.code(t, "bound-native", ""), DPoPProof{})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := f.store.GetToken(ctx, f.p.cfg.Tenant, secret.Digest(resp.RefreshToken))
		if err != nil || rec.X5TS256 != thumb {
			t.Fatalf("refresh token record %+v, %v; want x5t#S256 %s", rec, err, thumb)
		}
		for _, tt := range []struct {
			name  string
			certs []*x509.Certificate
		}{
			{name: "without a certificate"},
			{name: "with another certificate", certs: []*x509.Certificate{other}},
		} {
			t.Run(tt.name+" is refused", func(t *testing.T) {
				_, err := d.refresh(ClientCredentials{ID: "bound-native", Method: ports.AuthMethodNone, Certificates: tt.certs}, resp.RefreshToken, DPoPProof{})
				if tt.certs == nil {
					// The client registered bound tokens: it must present
					// a certificate at all.
					wantCode(t, err, "invalid_request")
					return
				}
				wantDescription(t, err, "invalid_grant", "bound to a client certificate")
			})
		}
		next, err := d.refresh(native, resp.RefreshToken, DPoPProof{})
		if err != nil {
			t.Fatalf("refresh with the certificate: %v", err)
		}
		rec, err = f.store.GetToken(ctx, f.p.cfg.Tenant, secret.Digest(next.RefreshToken))
		if err != nil || rec.X5TS256 != thumb || x5tOf(t, next.AccessToken) != thumb {
			t.Fatalf("the rotated tokens are not bound: %+v, %v", rec, err)
		}
	})
	t.Run("an opaque token is bound in its record", func(t *testing.T) {
		f.client(t, "opaque", "opaque-secret-0123456789", `{"grant_types":["client_credentials"],"scope":"api","access_token_format":"opaque","tls_client_certificate_bound_access_tokens":true}`)
		resp, err := token(secretCred("opaque", "opaque-secret-0123456789", f.selfSigned), cc)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := f.store.GetToken(ctx, f.p.cfg.Tenant, secret.Digest(resp.AccessToken))
		if err != nil || rec.X5TS256 != thumb {
			t.Fatalf("record %+v, %v", rec, err)
		}
	})
}
