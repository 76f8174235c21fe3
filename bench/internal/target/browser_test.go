package target

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestHiddenInputs(t *testing.T) {
	p := page{body: `<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="a&#43;b&amp;c">
  <input type="hidden" name="request_id" value="r-1">
  <input type="text" name="username" value="">
  <input name="password" type="password">
</form>`}
	got := p.hidden()
	want := url.Values{"csrf_token": {"a+b&c"}, "request_id": {"r-1"}}
	if got.Encode() != want.Encode() {
		t.Fatalf("hidden() = %v, want %v", got, want)
	}
}

// fakeIdP plays the server's pages just enough to walk SignIn and Code
// through them: a sign-in form, a consent form, and a redirect with the
// code once both are done.
func fakeIdP(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var lastChallenge string
	mux.HandleFunc("GET "+PathAuthorize, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
			http.Error(w, "PKCE S256 required", http.StatusBadRequest)
			return
		}
		lastChallenge = q.Get("code_challenge")
		if _, err := r.Cookie("session"); err != nil {
			if q.Get("prompt") == "none" {
				http.Redirect(w, r, q.Get("redirect_uri")+"?error=login_required&state="+q.Get("state"), http.StatusFound)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "pending", Value: r.URL.RawQuery, Path: "/"})
			http.Redirect(w, r, PathLogin+"?request_id=r1", http.StatusFound)
			return
		}
		loc := fmt.Sprintf("%s?code=code-%s&state=%s&iss=x", q.Get("redirect_uri"), lastChallenge[:8], url.QueryEscape(q.Get("state")))
		http.Redirect(w, r, loc, http.StatusFound)
	})
	mux.HandleFunc("GET "+PathLogin, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<form method="post"><input type="hidden" name="csrf_token" value="tok"><input type="hidden" name="request_id" value="r1"><input name="password" type="password"></form>`)
	})
	mux.HandleFunc("POST "+PathLogin, func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("csrf_token") != "tok" || r.FormValue("username") != "alice" || r.FormValue("password") != "pw" {
			http.Redirect(w, r, PathLogin+"?request_id=r1", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, PathConsent+"?request_id=r1", http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+PathConsent, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<form method="post"><input type="hidden" name="csrf_token" value="tok2"><input type="hidden" name="request_id" value="r1"><button name="decision" value="allow">Allow</button></form>`)
	})
	mux.HandleFunc("POST "+PathConsent, func(w http.ResponseWriter, r *http.Request) {
		pending, err := r.Cookie("pending")
		if r.FormValue("csrf_token") != "tok2" || r.FormValue("decision") != "allow" || err != nil {
			http.Error(w, "bad consent", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s", Path: "/"})
		http.Redirect(w, r, PathAuthorize+"?"+pending.Value, http.StatusSeeOther)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestSignInAndCode(t *testing.T) {
	idp := fakeIdP(t)
	s := &Server{Base: idp.URL, HTTP: NewHTTPClient(2, 5*time.Second)}
	params := AuthParams{Client: Client{ID: "web"}, RedirectURI: "http://127.0.0.1:1/cb", Scope: "openid"}
	ctx := context.Background()

	t.Run("wrong password", func(t *testing.T) {
		if _, _, err := s.SignIn(ctx, params, "alice", "nope"); err == nil || !strings.Contains(err.Error(), "sign-in refused") {
			t.Fatalf("err = %v", err)
		}
	})
	b, first, err := s.SignIn(ctx, params, "alice", "pw")
	if err != nil {
		t.Fatal(err)
	}
	checkCode(t, first)
	seen := map[string]bool{first.Verifier: true}
	for range 3 {
		c, err := b.Code(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkCode(t, c)
		if seen[c.Verifier] {
			t.Fatal("two codes share a verifier")
		}
		seen[c.Verifier] = true
	}
}

// checkCode verifies that the code was issued for the challenge of its own
// verifier (the fake puts the challenge's start in the code).
func checkCode(t *testing.T, c Code) {
	t.Helper()
	sum := sha256.Sum256([]byte(c.Verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if len(c.Verifier) != 43 || c.Value != "code-"+challenge[:8] {
		t.Fatalf("code %q with verifier %q (challenge %s)", c.Value, c.Verifier, challenge)
	}
}
