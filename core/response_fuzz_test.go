package core

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzAuthorizationResponse sends arbitrary response_type, response_mode,
// scope and nonce values from a known client with a valid redirect URI.
// Every outcome must be a response to that URI, never an error page; a
// token or ID token must never travel in the query; a successful response
// carries exactly the tokens its response type names; a JWT response
// verifies against the server's keys.
func FuzzAuthorizationResponse(f *testing.F) {
	for _, rt := range []string{"code", "code id_token", "token code", "code id_token token", "token", "id_token", "none", "code code", ""} {
		for _, mode := range []string{"", "query", "fragment", "form_post", "jwt", "query.jwt", "fragment.jwt", "form_post.jwt", "web_message"} {
			f.Add(rt, mode, "openid email", "n")
		}
	}
	f.Add("code id_token", "fragment", "email", "")
	fx := newAuthzFixture(f)
	f.Fuzz(func(t *testing.T, responseType, responseMode, scope, nonce string) {
		params := fx.params("response_type", responseType, "response_mode", responseMode, "scope", scope, "nonce", nonce)
		res, err := fx.p.StartAuthorization(context.Background(), params, fx.sess)
		if err != nil {
			t.Fatalf("a request from a known client to its redirect URI ended on an error page: %v", err)
		}
		q, where := response(t, res)
		if jwt := q.Get("response"); jwt != "" {
			_, claims := verified(t, fx.p, jwt)
			q = url.Values{}
			for k, v := range claims {
				if s, ok := v.(string); ok {
					q.Set(k, s)
				}
			}
		}
		tokens := q.Get("access_token") != "" || q.Get("id_token") != ""
		if tokens && where == "query" {
			t.Fatalf("tokens in the query: %v", q)
		}
		if q.Get("error") != "" {
			if q.Get("code") != "" || tokens {
				t.Fatalf("an error response carries credentials: %v", q)
			}
			return
		}
		canonical, _ := canonicalResponseType(responseType)
		if !slices.Contains(ResponseTypes, canonical) {
			t.Fatalf("response_type %q succeeded", responseType)
		}
		want := map[string]bool{"code": true, "access_token": responseTypeHas(canonical, "token"), "id_token": responseTypeHas(canonical, "id_token")}
		for k, w := range want {
			if (q.Get(k) != "") != w {
				t.Fatalf("response_type %q: %s present = %v: %v", responseType, k, !w, q)
			}
		}
	})
}

// FuzzRemoteRequestURI presents arbitrary request_uri values for a client
// that registered two: whatever the value, the server may only ever
// request one of the registered URLs, on an allowed host, and must answer
// with a protocol error that says what is wrong.
func FuzzRemoteRequestURI(f *testing.F) {
	registered := []string{"https://rp.example.com/req/1", "https://10.0.0.5:9443/r?x=1#sha256"}
	for _, s := range []string{
		"https://rp.example.com/req/1", "https://rp.example.com/req/1#frag", "https://10.0.0.5:9443/r?x=1",
		"https://rp.example.com/req/2", "https://rp.example.com:443/req/1", "https://RP.example.com/req/1",
		"http://rp.example.com/req/1", "https://user@rp.example.com/req/1", "https://rp.example.com.evil.test/req/1",
		"https://10.0.0.5/r?x=1", "https://[::1]/r", "urn:ietf:params:oauth:request_uri:x", "//rp.example.com/req/1",
		"https://rp.example.com/req/1/../2", "https://rp.example.com/req/%31", "", "https://", "\x00",
	} {
		f.Add(s)
	}
	p, _ := newTestProvider(f, Config{RequestURIHosts: []string{"rp.example.com", "10.0.0.5:9443"}})
	calls := &urlRecorder{}
	p.requestURIClient = &http.Client{Transport: calls}
	if _, err := p.EnsureClient(context.Background(), "rp", "rp-secret-0123456789", []byte(`{"redirect_uris":["https://rp.example/cb"],
		"request_uris":["`+strings.Join(registered, `","`)+`"]}`)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		before := len(calls.urls)
		_, err := p.remoteRequestParams(context.Background(), url.Values{"client_id": {"rp"}, "request_uri": {uri}})
		var e *Error
		if !errors.As(err, &e) || e.Description == "" {
			t.Fatalf("request_uri %q: %v, want a described protocol error", uri, err)
		}
		for _, u := range calls.urls[before:] {
			if !slices.ContainsFunc(registered, func(r string) bool { return sameRequestURI(r, u) }) {
				t.Fatalf("request_uri %q made the server fetch %q", uri, u)
			}
		}
	})
}

// urlRecorder answers every request 404 and keeps its URL.
type urlRecorder struct{ urls []string }

func (r *urlRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return &http.Response{StatusCode: http.StatusNotFound, Body: http.NoBody, Request: req}, nil
}
