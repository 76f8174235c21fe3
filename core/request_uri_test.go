package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/core/pkce"
)

func TestRequestURIHostAllowed(t *testing.T) {
	hosts := []string{"rp.example.com", "objects.example.net:8443", "10.0.0.5:9443", "[2001:db8::1]:443"}
	tests := []struct {
		name, host, port string
		want             bool
	}{
		{name: "listed name on the default port", host: "rp.example.com", want: true},
		{name: "listed name on 443 spelled out", host: "rp.example.com", port: "443", want: true},
		{name: "listed name in other case", host: "RP.Example.COM", want: true},
		{name: "listed name on another port", host: "rp.example.com", port: "8443"},
		{name: "listed name and port", host: "objects.example.net", port: "8443", want: true},
		{name: "name listed with a port, on the default port", host: "objects.example.net"},
		{name: "subdomain of a listed name", host: "a.rp.example.com"},
		{name: "name with a listed name as prefix", host: "rp.example.com.evil.test"},
		{name: "listed private IP and port", host: "10.0.0.5", port: "9443", want: true},
		{name: "listed private IP on another port", host: "10.0.0.5"},
		{name: "listed IPv6 literal", host: "[2001:db8::1]", want: true},
		{name: "unlisted loopback", host: "127.0.0.1", port: "443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RequestURIHostAllowed(hosts, tt.host, tt.port); got != tt.want {
				t.Fatalf("RequestURIHostAllowed(%q, %q) = %v, want %v", tt.host, tt.port, got, tt.want)
			}
		})
	}
}

// objectHost is a client's server hosting request objects.
type objectHost struct {
	srv     *httptest.Server
	mu      sync.Mutex
	objects map[string]string
}

func newObjectHost(t *testing.T) *objectHost {
	h := &objectHost{objects: map[string]string{}}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		obj, ok := h.objects[r.URL.Path]
		h.mu.Unlock()
		switch {
		case r.URL.Path == "/slow":
			<-r.Context().Done()
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case !ok:
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
			_, _ = w.Write([]byte(obj + "\n"))
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *objectHost) serve(path, obj string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.objects[path] = obj
	return h.srv.URL + path
}

// recordingTransport counts the requests that leave the provider.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recordingTransport) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func TestRemoteRequestURI(t *testing.T) {
	ctx := context.Background()
	host := newObjectHost(t)
	hostPort := strings.TrimPrefix(host.srv.URL, "https://")
	p, store := newTestProvider(t, Config{RequestURIHosts: []string{hostPort}})
	// Every request the provider makes is recorded, whatever its host.
	calls := &recordingTransport{next: host.srv.Client().Transport}
	p.requestURIClient = &http.Client{Transport: calls}
	p.requestURITimeout = 100 * time.Millisecond

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	registeredURIs := []string{
		host.srv.URL + "/ok#content-hash", host.srv.URL + "/replay", host.srv.URL + "/big", host.srv.URL + "/slow", host.srv.URL + "/empty",
		host.srv.URL + "/missing", host.srv.URL + "/moved", host.srv.URL + "/foreign",
	}
	meta, _ := json.Marshal(map[string]any{
		"redirect_uris": []string{"https://rp.example/cb"}, "request_uris": registeredURIs,
		"jwks": json.RawMessage(publicJWKS(t, key, "k1")), "request_object_signing_alg": "ES256",
	})
	if _, err := p.EnsureClient(ctx, "rp", "rp-secret-0123456789", meta); err != nil {
		t.Fatal(err)
	}
	object := func(signer *ecdsa.PrivateKey, jti, state string) string {
		return signedAssertion(t, signer, "k1", map[string]any{
			"iss": "rp", "client_id": "rp", "aud": p.cfg.Issuer, "exp": testNow.Add(5 * time.Minute).Unix(), "jti": jti,
			"response_type": "code", "redirect_uri": "https://rp.example/cb", "scope": "openid", "state": state,
			"code_challenge": pkce.Challenge(testVerifier), "code_challenge_method": "S256",
		})
	}
	host.serve("/ok", object(key, "j-ok", "from-the-object"))
	host.serve("/replay", object(key, "j-replay", "s"))
	host.serve("/big", strings.Repeat("a", maxAssertionSize+1))
	host.serve("/empty", "")
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	host.serve("/foreign", object(other, "j-foreign", "s"))
	host.serve("/unregistered", object(key, "j-unreg", "s"))

	start := func(params url.Values) (*AuthorizeResult, error) {
		if params.Get("client_id") == "" {
			params.Set("client_id", "rp")
		}
		return p.StartAuthorization(ctx, params, nil)
	}

	t.Run("a registered object on an allowed host is fetched and used", func(t *testing.T) {
		res, err := start(url.Values{"request_uri": {host.srv.URL + "/ok"}, "state": {"outer"}})
		if err != nil {
			t.Fatalf("StartAuthorization: %v", err)
		}
		if res.Interaction != InteractionLogin {
			t.Fatalf("result %+v, want the sign-in page", res)
		}
		pending, err := store.GetAuthRequest(ctx, p.cfg.Tenant, res.RequestID, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if q, _ := url.ParseQuery(pending.Params); q.Get("state") != "from-the-object" {
			t.Fatalf("pending parameters %v: want the object's", q)
		}
	})

	refusals := []struct {
		name    string
		params  url.Values
		want    *Error
		fetched bool
	}{
		{name: "a replayed object is refused like a replayed request", params: url.Values{"request_uri": {host.srv.URL + "/replay"}}, want: ErrInvalidRequestObject, fetched: true},
		{name: "an unregistered URL on the allowed host is never fetched", params: url.Values{"request_uri": {host.srv.URL + "/unregistered"}}, want: ErrInvalidRequestURI},
		{name: "a host that is not allowed is never contacted", params: url.Values{"request_uri": {"https://rp.example/objects/1"}}, want: ErrInvalidRequestURI},
		{name: "http is refused", params: url.Values{"request_uri": {strings.Replace(host.srv.URL, "https:", "http:", 1) + "/ok"}}, want: ErrInvalidRequestURI},
		{name: "an oversized object is refused", params: url.Values{"request_uri": {host.srv.URL + "/big"}}, want: ErrInvalidRequestURI, fetched: true},
		{name: "a host that does not answer in time is given up", params: url.Values{"request_uri": {host.srv.URL + "/slow"}}, want: ErrInvalidRequestURI, fetched: true},
		{name: "an empty answer is refused, not taken for a request without an object", params: url.Values{"request_uri": {host.srv.URL + "/empty"}}, want: ErrInvalidRequestURI, fetched: true},
		{name: "a missing object is refused", params: url.Values{"request_uri": {host.srv.URL + "/missing"}}, want: ErrInvalidRequestURI, fetched: true},
		{name: "a redirect is not followed", params: url.Values{"request_uri": {host.srv.URL + "/moved"}}, want: ErrInvalidRequestURI, fetched: true},
		{name: "an object signed by another key is refused", params: url.Values{"request_uri": {host.srv.URL + "/foreign"}}, want: ErrInvalidRequestObject, fetched: true},
		{name: "request and request_uri together are refused", params: url.Values{"request_uri": {host.srv.URL + "/ok"}, "request": {"a.b.c"}}, want: ErrInvalidRequest},
		{name: "an unknown client is refused before any fetch", params: url.Values{"request_uri": {host.srv.URL + "/ok"}, "client_id": {"nobody"}}, want: ErrInvalidClient},
	}
	// The replay case needs a first, successful use.
	if _, err := start(url.Values{"request_uri": {host.srv.URL + "/replay"}}); err != nil {
		t.Fatalf("first use of /replay: %v", err)
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.count()
			res, err := start(tt.params)
			if !errors.Is(err, tt.want) {
				t.Fatalf("StartAuthorization = %+v, %v; want %s", res, err, tt.want.Code)
			}
			if AsError(err).Description == "" {
				t.Error("the refusal does not say why")
			}
			if fetched := calls.count() > before; fetched != tt.fetched {
				t.Fatalf("fetched = %v, want %v", fetched, tt.fetched)
			}
		})
	}

	t.Run("without an allow-list request_uri is not supported", func(t *testing.T) {
		off, _ := newTestProvider(t, Config{})
		_, err := off.StartAuthorization(ctx, url.Values{"client_id": {"rp"}, "request_uri": {host.srv.URL + "/ok"}}, nil)
		if !errors.Is(err, ErrRequestURINotSupported) {
			t.Fatalf("err = %v, want request_uri_not_supported", err)
		}
		if m := off.Metadata(); m["request_uri_parameter_supported"] != false || m["require_request_uri_registration"] != nil {
			t.Fatalf("discovery advertises request_uri: %v, %v", m["request_uri_parameter_supported"], m["require_request_uri_registration"])
		}
	})
	t.Run("discovery advertises request_uri with registration required", func(t *testing.T) {
		if m := p.Metadata(); m["request_uri_parameter_supported"] != true || m["require_request_uri_registration"] != true {
			t.Fatalf("discovery: %v, %v", m["request_uri_parameter_supported"], m["require_request_uri_registration"])
		}
	})
	t.Run("a provider with hosts but no client to fetch with is refused", func(t *testing.T) {
		keys, _ := testKeys()
		_, err := New(Config{Issuer: "https://id.example.com", RequestURIHosts: []string{"rp.example.com"}}, Deps{Store: newTestStore(), Keys: keys, Secrets: p.secrets})
		if err == nil {
			t.Fatal("New accepted RequestURIHosts without a RequestURIClient")
		}
	})
}
