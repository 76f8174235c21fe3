package e2e

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestFormPostResponseMode(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	w := newWebApp(t, s, webClientMetadata)
	b := newBrowser(t, s)
	a := authorization{state: randomHex(8), nonce: randomHex(8), verifier: oauth2.GenerateVerifier()}
	p := b.get(w.oauth.AuthCodeURL(a.state, oauth2.S256ChallengeOption(a.verifier), oauth2.SetAuthURLParam("response_mode", "form_post")))
	p = b.decide(b.login(p, testUser, testPassword), "allow")
	if p.status != http.StatusOK || p.location != nil || !strings.Contains(p.body, `action="`+w.oauth.RedirectURL+`"`) {
		t.Fatalf("want a page posting to the redirect URI, got %d %v\n%s", p.status, p.location, p.body)
	}
	form := p.hidden()
	if form.Get("state") != a.state || form.Get("iss") != s.issuer || form.Get("code") == "" {
		t.Fatalf("posted fields = %v", form)
	}
	if strings.Contains(p.body, "code="+form.Get("code")) {
		t.Fatal("the code must not appear in a URL")
	}

	t.Run("the code the form carries is exchangeable", func(t *testing.T) {
		u := *p.url
		q := u.Query()
		q.Set("code", form.Get("code"))
		q.Set("state", a.state)
		q.Set("iss", s.issuer)
		u.RawQuery = q.Encode()
		a.redirect = &u
		w.exchange(t, a)
	})
	t.Run("errors are posted too", func(t *testing.T) {
		p := b.get(w.oauth.AuthCodeURL("st", oauth2.SetAuthURLParam("response_mode", "form_post")))
		if f := p.hidden(); p.status != http.StatusOK || f.Get("error") != "invalid_request" || f.Get("state") != "st" {
			t.Fatalf("missing PKCE under form_post: %d %v", p.status, f)
		}
	})
	t.Run("an unknown response mode is refused", func(t *testing.T) {
		p := b.get(w.oauth.AuthCodeURL("st", oauthS256(t), oauth2.SetAuthURLParam("response_mode", "web_message")))
		if p.location == nil || p.location.Query().Get("error") != "invalid_request" {
			t.Fatalf("got %d %v", p.status, p.location)
		}
	})
}
