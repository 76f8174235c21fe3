package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"oauth2-server.dev/core"
)

func TestAccessToken(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		method      string
		target      string
		auth        string
		contentType string
		body        string
		want        string
		wantScheme  string // Bearer when empty
		wantCode    string // protocol error code; "" for success
	}{
		{name: "Authorization header", method: http.MethodGet, auth: "Bearer tok-123", want: "tok-123"},
		{name: "DPoP scheme", method: http.MethodGet, auth: "DPoP tok-123", want: "tok-123", wantScheme: "DPoP"},
		{name: "DPoP scheme is case-insensitive", method: http.MethodGet, auth: "dpop tok-123", want: "tok-123", wantScheme: "DPoP"},
		{name: "DPoP scheme on a form POST without the parameter", method: http.MethodPost, auth: "DPoP tok-123", contentType: form, body: "x=1", want: "tok-123", wantScheme: "DPoP"},
		{name: "scheme is case-insensitive", method: http.MethodGet, auth: "bearer tok-123", want: "tok-123"},
		{name: "scheme in capitals", method: http.MethodGet, auth: "BEARER tok-123", want: "tok-123"},
		{name: "surrounding spaces are trimmed", method: http.MethodGet, auth: "Bearer  tok-123 ", want: "tok-123"},
		{name: "form body parameter", method: http.MethodPost, contentType: form, body: "access_token=tok-123", want: "tok-123"},
		{name: "form body with charset", method: http.MethodPost, contentType: form + "; charset=UTF-8", body: "access_token=tok-123", want: "tok-123"},
		{name: "header on a form POST without the parameter", method: http.MethodPost, auth: "Bearer tok-123", contentType: form, body: "x=1", want: "tok-123"},

		{name: "Basic scheme is refused", method: http.MethodGet, auth: "Basic dXNlcjpwYXNz", wantCode: "invalid_token"},
		{name: "scheme without a token is refused", method: http.MethodGet, auth: "Bearer", wantCode: "invalid_token"},
		{name: "scheme with an empty token is refused", method: http.MethodGet, auth: "Bearer ", wantCode: "invalid_token"},
		{name: "DPoP scheme without a token is refused", method: http.MethodGet, auth: "DPoP", wantCode: "invalid_token"},
		{name: "DPoP header and body together are refused", method: http.MethodPost, auth: "DPoP tok-123", contentType: form, body: "access_token=tok-123", wantCode: "invalid_request"},
		{name: "token without a scheme is refused", method: http.MethodGet, auth: "tok-123", wantCode: "invalid_token"},
		{name: "header and body together are refused", method: http.MethodPost, auth: "Bearer tok-123", contentType: form, body: "access_token=tok-123", wantCode: "invalid_request"},
		{name: "query parameter is not read", method: http.MethodGet, target: "/oauth/userinfo?access_token=tok-123", wantCode: "invalid_token"},
		{name: "body parameter on GET is not read", method: http.MethodGet, contentType: form, body: "access_token=tok-123", wantCode: "invalid_token"},
		{name: "JSON body is not read", method: http.MethodPost, contentType: "application/json", body: `{"access_token":"tok-123"}`, wantCode: "invalid_token"},
		{name: "no token at all", method: http.MethodGet, wantCode: "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target
			if target == "" {
				target = "/oauth/userinfo"
			}
			r := httptest.NewRequest(tt.method, target, strings.NewReader(tt.body))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			scheme, got, err := accessToken(r)
			if tt.wantCode != "" {
				if err == nil {
					t.Fatalf("accessToken = %q, want %s", got, tt.wantCode)
				}
				if e := core.AsError(err); e.Code != tt.wantCode {
					t.Fatalf("error = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("accessToken: %v", err)
			}
			wantScheme := tt.wantScheme
			if wantScheme == "" {
				wantScheme = "Bearer"
			}
			if got != tt.want || scheme != wantScheme {
				t.Fatalf("accessToken = %s %q, want %s %q", scheme, got, wantScheme, tt.want)
			}
		})
	}
}

// RFC 6750 §3: a refused resource request answers 401 with a Bearer
// challenge; §3.1: when the request carried no token at all, the challenge
// has no error code.
func TestUserinfoChallenge(t *testing.T) {
	h := &handlers{log: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name          string
		auth          string
		wantStatus    int
		wantChallenge string // "" when no WWW-Authenticate header is expected
		wantErrorAttr bool
		wantBody      string // the JSON error code; "" when not checked
	}{
		{name: "no token gets a bare challenge", wantStatus: http.StatusUnauthorized, wantChallenge: "Bearer", wantErrorAttr: false},
		{name: "malformed header names invalid_token", auth: "Basic dXNlcjpwYXNz", wantStatus: http.StatusUnauthorized, wantChallenge: "Bearer", wantErrorAttr: true, wantBody: "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/oauth/userinfo", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.userinfo(rec, r)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantBody != "" {
				var body struct{ Error string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != tt.wantBody {
					t.Errorf("body = %s, want error %s", rec.Body.Bytes(), tt.wantBody)
				}
			}
			ch := rec.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, tt.wantChallenge) {
				t.Fatalf("WWW-Authenticate = %q, want a %s challenge", ch, tt.wantChallenge)
			}
			if got := strings.Contains(ch, "error="); got != tt.wantErrorAttr {
				t.Fatalf("WWW-Authenticate = %q; error attribute present = %v, want %v", ch, got, tt.wantErrorAttr)
			}
		})
	}
}
