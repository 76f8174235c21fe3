package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestAccountConsents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		w := newWebApp(t, s, webClientMetadata)
		other := newWebApp(t, s, strings.Replace(webClientMetadata, "Test Web App", "Other App", 1))
		b := newBrowser(t, s)

		t.Run("signing in from the account page returns to it", func(t *testing.T) {
			p := b.get(s.issuer + "/account")
			if !p.isLogin() {
				t.Fatalf("expected the sign-in page, got %d %s", p.status, p.url)
			}
			p = b.login(p, testUser, testPassword)
			if p.url.Path != "/account" || !strings.Contains(p.body, "Signed in as <strong>"+testUser+"</strong>") || !strings.Contains(p.body, "You have not allowed any application") {
				t.Fatalf("after sign-in: %d %s:\n%s", p.status, p.url, p.body)
			}
		})

		tok := w.exchange(t, w.authorize(t, b))
		otherTok := other.exchange(t, other.authorize(t, b))

		t.Run("the applications the user allowed are listed with their scopes", func(t *testing.T) {
			p := b.get(s.issuer + "/account")
			for _, want := range []string{"Test Web App", "Other App", "<code>openid</code>", `action="/account/consents/` + w.client.ID + `/revoke"`} {
				if !strings.Contains(p.body, want) {
					t.Errorf("the account page does not show %q", want)
				}
			}
		})
		t.Run("a withdrawal without the form's CSRF token changes nothing", func(t *testing.T) {
			if p := b.post(s.issuer+"/account/consents/"+w.client.ID+"/revoke", url.Values{}); p.status != http.StatusForbidden {
				t.Fatalf("got %d:\n%s", p.status, p.body)
			}
			if status, m := introspect(t, s, w.client, tok.AccessToken); status != 200 || m["active"] != true {
				t.Fatalf("the access token after a refused withdrawal: %d %v", status, m)
			}
		})
		t.Run("withdrawing access revokes the application's tokens and nobody else's", func(t *testing.T) {
			p := b.post(s.issuer+"/account/consents/"+w.client.ID+"/revoke", b.get(s.issuer+"/account").hidden())
			if !strings.Contains(p.body, "Access withdrawn.") || strings.Contains(p.body, "Test Web App") || !strings.Contains(p.body, "Other App") {
				t.Fatalf("after withdrawing: %d:\n%s", p.status, p.body)
			}
			if status, m := introspect(t, s, w.client, tok.AccessToken); status != 200 || m["active"] != false {
				t.Fatalf("the access token after the withdrawal: %d %v", status, m)
			}
			_, err := w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err == nil {
				t.Fatal("the refresh token still works after the withdrawal")
			}
			if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
				t.Fatalf("refresh after the withdrawal: %v, want invalid_grant", err)
			}
			if status, m := introspect(t, s, other.client, otherTok.AccessToken); status != 200 || m["active"] != true {
				t.Fatalf("the other application's access token: %d %v", status, m)
			}
		})
		t.Run("the application must ask again", func(t *testing.T) {
			_, p := w.beginAuthorization(t, b)
			if !p.isConsent() {
				t.Fatalf("expected the consent page after the withdrawal, got %d %s", p.status, p.url)
			}
		})
	})
}

func TestAccountPassword(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	b := newBrowser(t, s)
	p := b.login(b.get(s.issuer+"/account"), testUser, testPassword)
	change := func(current, next string) page {
		form := p.hidden()
		form.Set("current_password", current)
		form.Set("new_password", next)
		return b.post(s.issuer+"/account/password", form)
	}
	t.Run("a wrong current password changes nothing", func(t *testing.T) {
		got := change("not-the-password", "a-new-password-1")
		if !strings.Contains(got.body, "Your current password is not right") || !signsIn(t, s, testUser, testPassword) {
			t.Fatalf("got %d:\n%s", got.status, got.body)
		}
	})
	t.Run("a short new password is refused with the reason", func(t *testing.T) {
		got := change(testPassword, "short")
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, "at least 12 characters") || !signsIn(t, s, testUser, testPassword) {
			t.Fatalf("got %d:\n%s", got.status, got.body)
		}
	})
	t.Run("the new password replaces the old one", func(t *testing.T) {
		got := change(testPassword, "a-new-password-1")
		if !strings.Contains(got.body, "Your password is changed.") {
			t.Fatalf("got %d:\n%s", got.status, got.body)
		}
		if signsIn(t, s, testUser, testPassword) || !signsIn(t, s, testUser, "a-new-password-1") {
			t.Fatal("the old password still works, or the new one does not")
		}
	})
	t.Run("without a session the form leads to the sign-in", func(t *testing.T) {
		other := newBrowser(t, s)
		form := other.get(s.issuer + "/login").hidden()
		form.Set("current_password", "a-new-password-1")
		form.Set("new_password", "a-new-password-2")
		if got := other.post(s.issuer+"/account/password", form); !got.isLogin() {
			t.Fatalf("got %d %s", got.status, got.url)
		}
	})
}

// signedIn reports whether the browser's session still lets the web app
// get a code without asking anybody (prompt=none).
func signedIn(t *testing.T, w *webApp, b *browser) bool {
	t.Helper()
	p := b.get(w.oauth.AuthCodeURL("check", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
	if p.location == nil {
		t.Fatalf("prompt=none answered %d %s", p.status, p.url)
	}
	switch e := p.location.Query().Get("error"); e {
	case "":
		return true
	case "login_required":
		return false
	default:
		t.Fatalf("prompt=none: %s", e)
		return false
	}
}

func TestEndingOtherSessions(t *testing.T) {
	env := map[string]string{"OAUTH2_ADMIN_TOKEN": adminToken}
	for k, v := range loopbackCalls {
		env[k] = v
	}
	s := startServer(t, "sqlite", env)
	receiver := newLogoutReceiver(t)
	w := newWebApp(t, s, `{"client_name":"RP","redirect_uris":["https://rp.example/cb"],
		"grant_types":["authorization_code","refresh_token"],
		"backchannel_logout_uri":"`+receiver.srv.URL+`/backchannel"}`)
	sid := func(b *browser) string {
		a := w.authorize(t, b)
		var claims struct {
			Sid string `json:"sid"`
		}
		if err := w.verifyIDToken(t, w.exchange(t, a), a.nonce).Claims(&claims); err != nil || claims.Sid == "" {
			t.Fatalf("the ID token has no sid: %v", err)
		}
		return claims.Sid
	}
	tablet, phone, laptop := newBrowser(t, s), newBrowser(t, s), newBrowser(t, s)
	tabletSid, phoneSid, laptopSid := sid(tablet), sid(phone), sid(laptop)

	t.Run("signing out everywhere else ends the other sessions and keeps this one", func(t *testing.T) {
		p := phone.get(s.issuer + "/account")
		if p = phone.post(s.issuer+"/account/sessions/end-others", p.hidden()); !strings.Contains(p.body, "You are signed out everywhere else.") {
			t.Fatalf("got %d:\n%s", p.status, p.body)
		}
		if signedIn(t, w, tablet) || signedIn(t, w, laptop) {
			t.Error("another browser is still signed in")
		}
		if !signedIn(t, w, phone) {
			t.Error("the session that signed out the others ended")
		}
		receiver.waitFor(t, tabletSid)
		receiver.waitFor(t, laptopSid)
		// The laptop signs in again for what follows.
		laptopSid = sid(laptop)
	})
	t.Run("without the form's CSRF token nobody is signed out", func(t *testing.T) {
		if p := laptop.post(s.issuer+"/account/sessions/end-others", url.Values{}); p.status != http.StatusForbidden {
			t.Fatalf("got %d", p.status)
		}
		if !signedIn(t, w, phone) {
			t.Error("a forged form ended the phone's session")
		}
	})

	t.Run("changing one's own password ends the other sessions and keeps this one", func(t *testing.T) {
		form := laptop.get(s.issuer + "/account").hidden()
		form.Set("current_password", testPassword)
		form.Set("new_password", "a-new-password-1")
		p := laptop.post(s.issuer+"/account/password", form)
		if !strings.Contains(p.body, "You are signed out everywhere else.") {
			t.Fatalf("got %d:\n%s", p.status, p.body)
		}
		if signedIn(t, w, phone) {
			t.Error("the phone is still signed in after the password change")
		}
		if !signedIn(t, w, laptop) {
			t.Error("the session that changed the password ended")
		}
		lt := receiver.waitFor(t, phoneSid)
		if c := jwtClaims(t, lt); c["aud"] != w.client.ID {
			t.Errorf("logout token claims %v", c)
		}
	})
	// An application whose back-channel endpoint is down: its missed
	// logouts are counted.
	down := newWebApp(t, s, `{"client_name":"Down","redirect_uris":["https://down.example/cb"],
		"grant_types":["authorization_code"],"backchannel_logout_uri":"http://127.0.0.1:1/backchannel"}`)
	down.exchange(t, down.authorize(t, laptop))

	t.Run("a password the operator sets ends every session of the user", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.issuer+"/admin/api/users", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, body := doJSON(t, req)
		users, _ := body["users"].([]any)
		if resp.StatusCode != 200 || len(users) == 0 {
			t.Fatalf("users: %d %v", resp.StatusCode, body)
		}
		id, _ := users[0].(map[string]any)["id"].(string)
		req, _ = http.NewRequest(http.MethodPut, s.issuer+"/admin/api/users/"+id+"/password", strings.NewReader(`{"password":"a-new-password-2"}`))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		if resp, body := doJSON(t, req); resp.StatusCode/100 != 2 {
			t.Fatalf("set password: %d %v", resp.StatusCode, body)
		}
		if signedIn(t, w, laptop) {
			t.Error("the laptop is still signed in after the operator set a password")
		}
		receiver.waitFor(t, laptopSid)
	})
	t.Run("back-channel deliveries are counted by outcome", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for counterValue(t, s, "oauth2_backchannel_logout_deliveries_total", map[string]string{"outcome": "failure"}) < 1 {
			if time.Now().After(deadline) {
				t.Fatal("the delivery to an endpoint that is down was not counted as a failure")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The tablet and the laptop, the phone, then the laptop again.
		if n := counterValue(t, s, "oauth2_backchannel_logout_deliveries_total", map[string]string{"outcome": "success"}); n != 4 {
			t.Errorf("%v successful deliveries, want 4", n)
		}
	})
}
