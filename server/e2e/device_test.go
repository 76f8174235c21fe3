package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"oauth2-server.dev/core"
)

func TestDeviceAuthorizationGrant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c := s.register(t, `{"client_name":"TV","token_endpoint_auth_method":"none",
			"grant_types":["`+core.GrantDeviceCode+`","refresh_token"],"scope":"openid profile offline_access"}`)
		cfg := &oauth2.Config{ClientID: c.ID, Scopes: []string{"openid", "profile"}, Endpoint: oauth2.Endpoint{
			DeviceAuthURL: s.issuer + "/oauth/device_authorization", TokenURL: s.issuer + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		}}

		// approve walks a person through the verification page in b.
		approve := func(t *testing.T, b *browser, complete, decision string) page {
			p := b.get(complete)
			p = b.login(p, testUser, testPassword)
			if p.status != http.StatusOK || p.url.Path != "/device" || !strings.Contains(p.body, `value="approve"`) || !strings.Contains(p.body, "TV") {
				t.Fatalf("after signing in: %d %s\n%s", p.status, p.url, p.body)
			}
			form := p.hidden()
			form.Set("decision", decision)
			return b.post(s.issuer+"/device", form)
		}

		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatalf("device authorization: %v", err)
		}
		if len(da.UserCode) != 9 || strings.ContainsAny(da.UserCode, "AEIOU01") || !strings.HasPrefix(da.VerificationURIComplete, s.issuer+"/device?user_code=") {
			t.Fatalf("device authorization response: %+v", da)
		}
		t.Run("polling early says authorization_pending, then slow_down", func(t *testing.T) {
			poll := func() string {
				_, m := postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {core.GrantDeviceCode}, "device_code": {da.DeviceCode}, "client_id": {c.ID}}, "", "")
				e, _ := m["error"].(string)
				return e
			}
			if e := poll(); e != "authorization_pending" {
				t.Fatalf("first poll: %q", e)
			}
			if e := poll(); e != "slow_down" {
				t.Fatalf("second poll at once: %q", e)
			}
		})
		person := newBrowser(t, s)
		if p := approve(t, person, da.VerificationURIComplete, "approve"); p.status != 200 || !strings.Contains(p.body, "Device connected") {
			t.Fatalf("approval: %d %s", p.status, p.body)
		}
		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatalf("device access token: %v", err)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Fatalf("token response lacks refresh or ID token: %+v", tok)
		}
		if info := userinfo(t, s, http.MethodGet, tok.AccessToken); info.status != 200 || info.body["preferred_username"] != testUser {
			t.Fatalf("userinfo: %d %v", info.status, info.body)
		}
		t.Run("the device code works once", func(t *testing.T) {
			_, m := postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {core.GrantDeviceCode}, "device_code": {da.DeviceCode}, "client_id": {c.ID}}, "", "")
			if m["error"] != "invalid_grant" && m["error"] != "slow_down" {
				t.Fatalf("second redemption: %v", m)
			}
		})
		t.Run("the approval is listed on the account page, and withdrawing it revokes the device's tokens", func(t *testing.T) {
			p := person.get(s.issuer + "/account")
			if !strings.Contains(p.body, "TV") || !strings.Contains(p.body, `action="/account/consents/`+c.ID+`/revoke"`) {
				t.Fatalf("the account page does not list the device's application:\n%s", p.body)
			}
			if p := person.post(s.issuer+"/account/consents/"+c.ID+"/revoke", p.hidden()); !strings.Contains(p.body, "Access withdrawn.") {
				t.Fatalf("withdrawal: %d\n%s", p.status, p.body)
			}
			_, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Fatalf("the device's refresh token after the withdrawal: %v", err)
			}
			if info := userinfo(t, s, http.MethodGet, tok.AccessToken); info.status != http.StatusUnauthorized {
				t.Fatalf("userinfo with the device's access token after the withdrawal: %d", info.status)
			}
		})
		t.Run("a denied request ends with access_denied", func(t *testing.T) {
			da, err := cfg.DeviceAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p := approve(t, newBrowser(t, s), da.VerificationURIComplete, "deny"); p.status != 200 || !strings.Contains(p.body, "Request denied") {
				t.Fatalf("deny: %d", p.status)
			}
			_, err = cfg.DeviceAccessToken(ctx, da)
			if re := retrieveError(t, err); re.ErrorCode != "access_denied" {
				t.Fatalf("got %q", re.ErrorCode)
			}
		})
		t.Run("wrong codes are throttled", func(t *testing.T) {
			b := newBrowser(t, s)
			p := b.login(b.get(s.issuer+"/device?user_code=BBBB-BBBB"), testUser, testPassword)
			if !strings.Contains(p.body, "not valid or has expired") {
				t.Fatalf("wrong code: %d %s", p.status, p.body)
			}
			for i := 0; i < 15 && p.status != http.StatusTooManyRequests; i++ {
				p = b.get(s.issuer + "/device?user_code=CCCC-" + strings.Repeat("D", 4))
			}
			if p.status != http.StatusTooManyRequests {
				t.Fatalf("after many wrong codes: %d", p.status)
			}
		})
	})
}
