package ceiling

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T) (*Handler, *Server, Config) {
	t.Helper()
	cfg := Config{Issuer: "http://127.0.0.1:8080", ClientID: "svc", ClientSecret: "s3cret+/=", Scope: "api:read"}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return h, s, cfg
}

func post(t *testing.T, s *Server, form url.Values, user, pass string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("status %d, body is not JSON: %v", resp.StatusCode, err)
	}
	return resp, m
}

func TestTokenIsAVerifiableES256JWT(t *testing.T) {
	h, s, cfg := newTestServer(t)
	resp, body := post(t, s, url.Values{"grant_type": {"client_credentials"}}, cfg.ClientID, cfg.ClientSecret)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q, body %v", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) || body["scope"] != "api:read" {
		t.Fatalf("response = %v", body)
	}
	tok, _ := body["access_token"].(string)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access_token %q is not a compact JWS", tok)
	}

	var hdr struct{ Alg, Kid, Typ string }
	decodeSegment(t, parts[0], &hdr)
	if hdr.Alg != "ES256" || hdr.Typ != "at+jwt" || hdr.Kid == "" {
		t.Fatalf("header = %+v", hdr)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %d bytes, %v", len(sig), err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, sv := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(h.PublicKey(), digest[:], r, sv) {
		t.Fatal("the signature does not verify with the handler's public key")
	}

	var c claims
	decodeSegment(t, parts[1], &c)
	now := time.Now().Unix()
	if c.Iss != cfg.Issuer || c.Aud != cfg.Issuer || c.Sub != cfg.ClientID || c.ClientID != cfg.ClientID ||
		c.Scope != cfg.Scope || c.Jti == "" || c.Iat < now-5 || c.Iat > now+5 || c.Exp != c.Iat+3600 {
		t.Fatalf("claims = %+v", c)
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	_, s, cfg := newTestServer(t)
	tests := []struct {
		name       string
		form       url.Values
		user, pass string
		wantStatus int
		wantError  string
	}{
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}}, cfg.ClientID, "nope", 401, "invalid_client"},
		{"no credentials", url.Values{"grant_type": {"client_credentials"}}, "", "", 401, "invalid_client"},
		{"other grant type", url.Values{"grant_type": {"password"}}, cfg.ClientID, cfg.ClientSecret, 400, "unsupported_grant_type"},
		{"scope not registered", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}, cfg.ClientID, cfg.ClientSecret, 400, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, s, tt.form, tt.user, tt.pass)
			if resp.StatusCode != tt.wantStatus || body["error"] != tt.wantError {
				t.Fatalf("status %d, body %v; want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantError)
			}
			if tt.wantStatus == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}
