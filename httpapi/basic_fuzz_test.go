package httpapi

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// FuzzBasicCredentials encodes arbitrary client ids and secrets as RFC
// 6749 §2.3.1 says, form-urlencoded and then base64 in HTTP Basic, and
// reads them back. Every id and secret, with ':' '%' '+' or any other byte,
// comes back as sent; a client_id in the form that differs from the
// header's, or a client_secret in the form beside the header, is refused
// with invalid_request. An arbitrary Authorization header never panics,
// and what it yields is its own user and password, decoded.
func FuzzBasicCredentials(f *testing.F) {
	for _, s := range [][3]string{
		{"client-1", "s3cret", ""},
		{"my client", "p@ss:w%rd+&=", ""},
		{"urn:example:client", "a:b:c", ""},
		{"100%", "+-+", ""},
		{"", "", ""},
		{"client-1", "s3cret", "Basic " + base64.StdEncoding.EncodeToString([]byte("a%zz:b"))},
		{"client-1", "s3cret", "Basic " + base64.StdEncoding.EncodeToString([]byte("no-colon"))},
		{"client-1", "s3cret", "basic Y2xpZW50LTE6czNjcmV0"},
		{"client-1", "s3cret", "Basic Y2xpZW50LTE6czNjcmV0==="},
	} {
		f.Add(s[0], s[1], s[2])
	}
	request := func(auth string, form url.Values) (core.ClientCredentials, error) {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", auth)
		parsed, err := postForm(r)
		if err != nil {
			return core.ClientCredentials{}, err
		}
		return clientCredentials(r, parsed)
	}
	refused := func(t *testing.T, err error, code, why string) {
		t.Helper()
		if err == nil || core.AsError(err).Code != code {
			t.Fatalf("%s: error %v, want %s", why, err, code)
		}
	}
	f.Fuzz(func(t *testing.T, id, secret, header string) {
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
		want := core.ClientCredentials{ID: id, Secret: secret, Method: ports.AuthMethodSecretBasic}
		got, err := request(auth, nil)
		if err != nil || got.ID != want.ID || got.Secret != want.Secret || got.Method != want.Method {
			t.Fatalf("id %q secret %q read back as %+v, %v", id, secret, got, err)
		}
		if got, err := request(auth, url.Values{"client_id": {id}}); id != "" && (err != nil || got.ID != id || got.Secret != secret) {
			t.Fatalf("id %q secret %q with the same client_id in the form read back as %+v, %v", id, secret, got, err)
		}
		_, err = request(auth, url.Values{"client_id": {id + "x"}})
		refused(t, err, "invalid_request", "another client_id in the form")
		_, err = request(auth, url.Values{"client_secret": {secret}})
		refused(t, err, "invalid_request", "a client_secret in the form as well")

		if header == "" {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
		r.Header.Set("Authorization", header)
		got, err = clientCredentials(r, url.Values{})
		user, pass, basic := r.BasicAuth()
		if !basic {
			refused(t, err, "invalid_client", "no Basic credentials and no form")
			return
		}
		uid, err1 := url.QueryUnescape(user)
		usecret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			refused(t, err, "invalid_client", "malformed Basic credentials")
			return
		}
		if err != nil || got.ID != uid || got.Secret != usecret || got.Method != ports.AuthMethodSecretBasic {
			t.Fatalf("header %q read as %+v, %v; want %q, %q", header, got, err, uid, usecret)
		}
	})
}
