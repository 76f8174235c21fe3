package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// repeatable are the parameters that an endpoint which authenticates
// clients accepts more than once: resource (RFC 8707 §2) and audience (RFC
// 8693 §2.1).
var repeatable = []string{"resource", "audience"}

// errorCode returns the error code of a JSON error response, or "".
func errorCode(rec *httptest.ResponseRecorder) string {
	var body struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return body.Error
}

// FuzzClientRequest posts arbitrary form bodies, with or without an
// Authorization header, to the reading of a request to an endpoint that
// authenticates clients (token, introspection, revocation, PAR, device
// authorization, CIBA). A malformed body or one that repeats a parameter
// that may appear once (RFC 6749 §3.2) is refused with invalid_request,
// never a panic and never one copy picked; an accepted form is the body's
// every parameter, and its credentials are the ones the request carries,
// by exactly one method (RFC 6749 §2.3).
func FuzzClientRequest(f *testing.F) {
	for _, s := range []struct{ body, auth string }{
		{"grant_type=client_credentials", basic("client-1", "s3cret")},
		{"grant_type=client_credentials&client_id=client-1&client_secret=s3cret", ""},
		{"grant_type=authorization_code&code=abc&code_verifier=v&client_id=spa", ""},
		{"token=abc&token_type_hint=access_token", basic("rs", "pw")},
		{"token=abc&token=def", basic("rs", "pw")},
		{"client_id=a&client_id=b&client_secret=s", ""},
		{"client_id=a&client_secret=s&client_secret=t", ""},
		{"client_secret=s", basic("client-1", "s3cret")},
		{"client_id=client-2", basic("client-1", "s3cret")},
		{"client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c", ""},
		{"scope=a&scope=b&client_id=pub", ""},
		{"resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example&client_id=pub", ""},
		{"audience=a&audience=b", basic("client-1", "s3cret")},
		{"client%5Fid=a&client_id=b", ""},
		{"grant_type=%zz", ""},
		{"a=1;b=2", ""},
		{"client_id=a", "Basic !!!"},
		{"client_id=a", "Bearer abc"},
	} {
		f.Add(s.body, s.auth)
	}
	h := &handlers{log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, body, auth string) {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		form, cred, _, ok := h.clientRequest(rec, r)
		parsed, perr := url.ParseQuery(body)
		var repeated []string
		for name, v := range parsed {
			if len(v) > 1 && !slices.Contains(repeatable, name) {
				repeated = append(repeated, name)
			}
		}
		if !ok {
			if code := errorCode(rec); rec.Code/100 != 4 || code != "invalid_request" && code != "invalid_client" {
				t.Fatalf("refused with %d %s", rec.Code, rec.Body)
			}
			if (perr != nil || len(repeated) > 0) && errorCode(rec) != "invalid_request" {
				t.Fatalf("malformed or repeated %v: refused with %s, want invalid_request", repeated, rec.Body)
			}
			return
		}
		switch {
		case perr != nil:
			t.Fatalf("malformed body %q accepted: %v", body, perr)
		case len(repeated) > 0:
			t.Fatalf("repeated %v accepted: %v", repeated, form)
		case !reflect.DeepEqual(form, parsed):
			t.Fatalf("form %v, want the body's %v", form, parsed)
		}
		user, pass, basicAuth := r.BasicAuth()
		_, formSecret := form["client_secret"]
		assertion := form.Get("client_assertion") != "" || form.Get("client_assertion_type") != ""
		if n := btoi(basicAuth) + btoi(formSecret) + btoi(assertion); n > 1 {
			t.Fatalf("%d client authentication methods at once accepted as %+v", n, cred)
		}
		if id := form.Get("client_id"); id != "" && cred.ID != id {
			t.Fatalf("client_id %q in the form, credentials for %q accepted", id, cred.ID)
		}
		switch cred.Method {
		case ports.AuthMethodSecretBasic:
			id, _ := url.QueryUnescape(user)
			secret, _ := url.QueryUnescape(pass)
			if !basicAuth || cred.ID != id || cred.Secret != secret {
				t.Fatalf("Basic %q:%q read as %+v", user, pass, cred)
			}
		case ports.AuthMethodSecretPost:
			if cred.Secret != form.Get("client_secret") {
				t.Fatalf("client_secret %q read as %+v", form.Get("client_secret"), cred)
			}
		case core.AuthMethodPrivateKeyJWT:
			if cred.Assertion != form.Get("client_assertion") || cred.Assertion == "" {
				t.Fatalf("client_assertion %q read as %+v", form.Get("client_assertion"), cred)
			}
		case ports.AuthMethodNone:
			if cred.ID == "" || cred.Secret != "" || basicAuth || formSecret {
				t.Fatalf("public client credentials %+v from a request with secrets", cred)
			}
		default:
			t.Fatalf("unknown method in %+v", cred)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzBrowserRequest sends arbitrary query strings by GET, and arbitrary
// form bodies by POST, to the reading of the authorization and logout
// endpoints' parameters. A malformed query or body is refused with
// invalid_request on the error page, never read in part, which would drop
// the malformed copy of a parameter given twice; what is accepted is every
// parameter with every copy, for core to refuse repeats (RFC 6749 §3.1).
func FuzzBrowserRequest(f *testing.F) {
	for _, s := range []string{
		"client_id=web&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&response_type=code&scope=openid&state=s",
		"state=a&state=b",
		"state=%zz&state=b",
		"redirect_uri=https%3A%2F%2Fevil.example&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb;",
		"scope=openid;profile",
		"client_id=web&&&=x",
		"client%5Fid=a&client_id=b",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	pages, err := parsePages()
	if err != nil {
		f.Fatal(err)
	}
	h := &handlers{log: slog.New(slog.DiscardHandler), pages: pages, cookies: newCookieJar(cookieKey, false)}
	f.Fuzz(func(t *testing.T, raw string, post bool) {
		r := httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
		if post {
			r = httptest.NewRequest(http.MethodPost, "/oauth/authorize", strings.NewReader(raw))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r.URL.RawQuery = raw
		}
		rec := httptest.NewRecorder()
		params, _, ok := h.browserRequest(rec, r)
		want, perr := url.ParseQuery(raw)
		if !ok {
			if perr == nil {
				t.Fatalf("well-formed %q refused: %d", raw, rec.Code)
			}
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_request") {
				t.Fatalf("malformed %q refused with %d, want invalid_request", raw, rec.Code)
			}
			return
		}
		if perr != nil {
			t.Fatalf("malformed %q read as %v: %v", raw, params, perr)
		}
		if !reflect.DeepEqual(params, want) {
			t.Fatalf("%q read as %v, want %v", raw, params, want)
		}
	})
}
