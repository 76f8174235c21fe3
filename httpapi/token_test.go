package httpapi

import (
	"cmp"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// basic returns an Authorization header value carrying user and pass as
// sent, without encoding them first.
func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestClientCredentials(t *testing.T) {
	tests := []struct {
		name     string
		auth     string
		form     url.Values
		want     core.ClientCredentials
		wantCode string // protocol error code; "" for success
	}{
		{
			name: "Basic credentials", auth: basic("client-1", "s3cret"),
			want: core.ClientCredentials{ID: "client-1", Secret: "s3cret", Method: ports.AuthMethodSecretBasic},
		},
		{
			name: "Basic credentials are form-urlencoded first",
			auth: basic(url.QueryEscape("my client"), url.QueryEscape("p@ss:w%rd+&=")),
			want: core.ClientCredentials{ID: "my client", Secret: "p@ss:w%rd+&=", Method: ports.AuthMethodSecretBasic},
		},
		{
			name: "plus in Basic credentials is a space",
			auth: basic("my+client", "a+b"),
			want: core.ClientCredentials{ID: "my client", Secret: "a b", Method: ports.AuthMethodSecretBasic},
		},
		{
			name: "colon in an unencoded Basic secret belongs to the secret",
			auth: basic("client-1", "se:cret"),
			want: core.ClientCredentials{ID: "client-1", Secret: "se:cret", Method: ports.AuthMethodSecretBasic},
		},
		{
			name: "Basic with the same client_id in the form", auth: basic("client-1", "s3cret"),
			form: url.Values{"client_id": {"client-1"}},
			want: core.ClientCredentials{ID: "client-1", Secret: "s3cret", Method: ports.AuthMethodSecretBasic},
		},
		{
			name: "Basic with the decoded client_id in the form", auth: basic("my%20client", "s3cret"),
			form: url.Values{"client_id": {"my client"}},
			want: core.ClientCredentials{ID: "my client", Secret: "s3cret", Method: ports.AuthMethodSecretBasic},
		},
		{
			name: "client_secret_post", form: url.Values{"client_id": {"client-1"}, "client_secret": {"s3cret"}},
			want: core.ClientCredentials{ID: "client-1", Secret: "s3cret", Method: ports.AuthMethodSecretPost},
		},
		{
			name: "bare client_id is a public client", form: url.Values{"client_id": {"spa"}},
			want: core.ClientCredentials{ID: "spa", Method: ports.AuthMethodNone},
		},
		{
			name: "Basic together with client_secret in the form", auth: basic("client-1", "s3cret"),
			form: url.Values{"client_secret": {"s3cret"}}, wantCode: "invalid_request",
		},
		{
			name: "Basic together with an empty client_secret in the form", auth: basic("client-1", "s3cret"),
			form: url.Values{"client_secret": {""}}, wantCode: "invalid_request",
		},
		{
			name: "Basic with a different client_id in the form", auth: basic("client-1", "s3cret"),
			form: url.Values{"client_id": {"client-2"}}, wantCode: "invalid_request",
		},
		{
			name: "Basic with bad percent-encoding", auth: basic("client%zz", "s3cret"),
			wantCode: "invalid_client",
		},
		{name: "no credentials at all", wantCode: "invalid_client"},
		{name: "non-Basic Authorization header alone", auth: "Bearer abc", wantCode: "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			form, err := postForm(r)
			if err != nil {
				t.Fatalf("postForm: %v", err)
			}
			got, err := clientCredentials(r, form)
			if tt.wantCode != "" {
				if err == nil {
					t.Fatalf("clientCredentials = %+v, want %s", got, tt.wantCode)
				}
				if e := core.AsError(err); e.Code != tt.wantCode {
					t.Fatalf("error = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("clientCredentials: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("clientCredentials = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPostForm(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		contentType string
		body        string
		wantErr     bool
		wantStatus  int // of the error; 400 unless set
	}{
		{name: "form body is read", contentType: form},
		{name: "charset parameter is allowed", contentType: form + "; charset=UTF-8"},
		{name: "JSON body is refused", contentType: "application/json", wantErr: true},
		{name: "missing content type is refused", contentType: "", wantErr: true},
		{name: "malformed escape is refused", contentType: form, body: "grant_type=%zz", wantErr: true},
		{name: "body over the cap is refused as too large", contentType: form, body: "a=" + strings.Repeat("x", maxFormBody), wantErr: true, wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if body == "" {
				body = "grant_type=client_credentials"
			}
			r := httptest.NewRequest(http.MethodPost, "/oauth/token?grant_type=from_query", strings.NewReader(body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			form, err := postForm(r)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("postForm = %v, want invalid_request", form)
				}
				want := cmp.Or(tt.wantStatus, http.StatusBadRequest)
				var oerr *core.Error
				if !errors.As(err, &oerr) || oerr.Status != want {
					t.Fatalf("postForm error %+v, want status %d", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("postForm: %v", err)
			}
			if got := form["grant_type"]; len(got) != 1 || got[0] != "client_credentials" {
				t.Fatalf("grant_type = %q, want only the body's value", got)
			}
			if again, err := postForm(r); err != nil || again.Get("grant_type") != "client_credentials" {
				t.Fatalf("postForm asked again = %v, %v; want the same form", again, err)
			}
		})
	}
}

func TestClientRequestRefusesRepeatedParameters(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		auth   string
		wantOK bool
	}{
		{name: "repeated token is refused", body: "token=a&token=b", auth: basic("rs", "pw")},
		{name: "repeated client_id is refused", body: "client_id=a&client_id=b&client_secret=s"},
		{name: "repeated client_id with the same value is refused", body: "client_id=a&client_id=a&client_secret=s"},
		{name: "repeated client_secret is refused", body: "client_id=a&client_secret=s&client_secret=t"},
		{name: "repeated scope is refused", body: "scope=a&scope=b&client_id=pub"},
		{name: "a repeat spelled with an escaped name is refused", body: "client%5Fid=a&client_id=a"},
		{name: "repeated resource is accepted", body: "resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example&client_id=pub", wantOK: true},
		{name: "repeated audience is accepted", body: "audience=a&audience=b", auth: basic("client-1", "s3cret"), wantOK: true},
		{name: "parameters given once are accepted", body: "token=a&token_type_hint=access_token", auth: basic("rs", "pw"), wantOK: true},
	}
	h := &handlers{log: slog.New(slog.DiscardHandler)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth/introspect", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			_, _, _, ok := h.clientRequest(rec, r)
			if ok != tt.wantOK {
				t.Fatalf("clientRequest ok = %v, want %v: %d %s", ok, tt.wantOK, rec.Code, rec.Body)
			}
			if !ok && (rec.Code != http.StatusBadRequest || errorCode(rec) != "invalid_request") {
				t.Fatalf("refused with %d %s, want 400 invalid_request", rec.Code, rec.Body)
			}
		})
	}
}
