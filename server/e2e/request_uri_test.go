package e2e

import (
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/oauth2"

	"oauth2-server.dev/server/internal/app"
)

// objectServer is a client's https server hosting request objects, with a
// self-signed certificate.
type objectServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	objects map[string]string
	hits    map[string]int
	// conns counts TCP connections accepted, fetches or not.
	conns int
}

func newObjectServer(t *testing.T) *objectServer {
	o := &objectServer{objects: map[string]string{}, hits: map[string]int{}}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.hits[r.URL.Path]++
		obj, ok := o.objects[r.URL.Path]
		o.mu.Unlock()
		switch {
		case r.URL.Path == "/req/slow":
			// Headers at once, then a body that never comes.
			w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case !ok:
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
			_, _ = w.Write([]byte(obj))
		}
	}))
	o.srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			o.mu.Lock()
			o.conns++
			o.mu.Unlock()
		}
	}
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	return o
}

func (o *objectServer) put(path, object string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.objects[path] = object
	return o.srv.URL + path
}

func (o *objectServer) hitCount(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *objectServer) connections() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.conns
}

func (o *objectServer) hostPort() string { return strings.TrimPrefix(o.srv.URL, "https://") }

func TestRemoteRequestURI(t *testing.T) {
	objects := newObjectServer(t)
	stranger := newObjectServer(t)
	roots := x509.NewCertPool()
	roots.AddCert(objects.srv.Certificate())
	roots.AddCert(stranger.srv.Certificate())
	_, port, _ := net.SplitHostPort(objects.hostPort())
	// The object server by IP literal, and by a name that resolves to
	// loopback, which must still be refused.
	s := startServerWith(t, "sqlite", map[string]string{
		"OAUTH2_REQUEST_URI_HOSTS": objects.hostPort() + ",localhost:" + port,
	}, nil, app.WithOutboundRoots(roots))

	key := newAssertionKey(t)
	byName := "https://localhost:" + port + "/req/ok"
	w := newWebApp(t, s, `{"redirect_uris":["https://app.example.com/callback"],"grant_types":["authorization_code","refresh_token"],
		"request_object_signing_alg":"ES256","jwks":`+key.jwks+`,
		"request_uris":["`+objects.srv.URL+`/req/ok#v1","`+objects.srv.URL+`/req/big","`+objects.srv.URL+`/req/slow","`+byName+`"]}`)
	object := func(a authorization) string {
		now := time.Now()
		tok, err := jwt.NewBuilder().Issuer(w.client.ID).Audience([]string{s.issuer}).IssuedAt(now).Expiration(now.Add(5*time.Minute)).JwtID(randomHex(8)).
			Claim("client_id", w.client.ID).Claim("response_type", "code").Claim("redirect_uri", w.oauth.RedirectURL).
			Claim("scope", "openid profile").Claim("state", a.state).Claim("nonce", a.nonce).
			Claim("code_challenge", oauth2.S256ChallengeFromVerifier(a.verifier)).Claim("code_challenge_method", "S256").Build()
		if err != nil {
			t.Fatal(err)
		}
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), key.priv))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}
	authorizeURL := func(requestURI string) string {
		return s.issuer + "/oauth/authorize?" + url.Values{"client_id": {w.client.ID}, "request_uri": {requestURI}}.Encode()
	}
	// refused checks that the server shows the error page: with an
	// object passed by reference, nothing is redirected before the object
	// is verified.
	refused := func(t *testing.T, requestURI, code, why string) {
		t.Helper()
		p := newBrowser(t, s).get(authorizeURL(requestURI))
		if p.status != http.StatusBadRequest || p.location != nil || !strings.Contains(p.body, code) || !strings.Contains(p.body, why) {
			t.Fatalf("request_uri %s: %d %v\n%s", requestURI, p.status, p.location, p.body)
		}
	}

	t.Run("discovery advertises request_uri with registration required", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.issuer+"/.well-known/openid-configuration", nil)
		if _, m := doJSON(t, req); m["request_uri_parameter_supported"] != true || m["require_request_uri_registration"] != true {
			t.Fatalf("discovery: %v %v", m["request_uri_parameter_supported"], m["require_request_uri_registration"])
		}
	})
	t.Run("a registered object on an allowed host drives the flow", func(t *testing.T) {
		a := authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
		uri := objects.put("/req/ok", object(a))
		b := newBrowser(t, s)
		p := b.decide(b.login(b.get(authorizeURL(uri)), testUser, testPassword), "allow")
		if p.location == nil {
			t.Fatalf("got %d %s", p.status, p.body)
		}
		a.redirect = p.location
		tok := w.exchange(t, a)
		if tok.Extra("scope") != "openid profile" {
			t.Fatalf("scope %v, want the object's", tok.Extra("scope"))
		}
		w.verifyIDToken(t, tok, a.nonce)
	})
	t.Run("a host off the allow-list is never contacted", func(t *testing.T) {
		uri := stranger.put("/req/ok", object(authorization{state: "s", nonce: "n", verifier: oauth2.GenerateVerifier()}))
		refused(t, uri, "invalid_request_uri", "not allowed")
		if n := stranger.connections(); n != 0 {
			t.Fatalf("the server connected to a host off the allow-list %d times", n)
		}
	})
	t.Run("an unregistered URL on an allowed host is never fetched", func(t *testing.T) {
		uri := objects.put("/req/unregistered", object(authorization{state: "s", nonce: "n", verifier: oauth2.GenerateVerifier()}))
		refused(t, uri, "invalid_request_uri", "registered")
		if n := objects.hitCount("/req/unregistered"); n != 0 {
			t.Fatalf("an unregistered request_uri was fetched %d times", n)
		}
	})
	t.Run("an allowed name that resolves to loopback is refused", func(t *testing.T) {
		before := objects.connections()
		refused(t, byName, "invalid_request_uri", "could not be fetched")
		if objects.connections() != before {
			t.Fatal("the server connected to a loopback address it reached by name")
		}
	})
	t.Run("an oversized object is refused", func(t *testing.T) {
		refused(t, objects.put("/req/big", strings.Repeat("a", 17<<10)), "invalid_request_uri", "exceeds")
	})
	t.Run("an object that does not arrive in time is refused", func(t *testing.T) {
		refused(t, objects.srv.URL+"/req/slow", "invalid_request_uri", "in time")
	})
	t.Run("a replayed object is refused", func(t *testing.T) {
		// The first subtest used /req/ok; its jti is spent.
		refused(t, objects.srv.URL+"/req/ok", "invalid_request_object", "jti was used before")
	})

	t.Run("a server without an allow-list fetches nothing", func(t *testing.T) {
		off := startServer(t, "sqlite", nil)
		p := newBrowser(t, off).get(off.issuer + "/oauth/authorize?" + url.Values{"client_id": {"any"}, "request_uri": {objects.srv.URL + "/req/ok"}}.Encode())
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "request_uri_not_supported") {
			t.Fatalf("got %d\n%s", p.status, p.body)
		}
		status, body := off.registerRaw(t, off.regToken, `{"redirect_uris":["https://app.example.com/callback"],"request_uris":["`+objects.srv.URL+`/req/ok"]}`)
		if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_client_metadata") {
			t.Fatalf("registration with request_uris: %d %s", status, body)
		}
	})
}
