package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	cookieKey      = bytes.Repeat([]byte{0x11}, 32)
	otherCookieKey = bytes.Repeat([]byte{0x22}, 32)
)

// setCookie runs jar.set and returns the cookie it wrote.
func setCookie(t *testing.T, jar *cookieJar, name, value string, maxAge time.Duration) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	jar.set(rec, name, value, maxAge)
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("set wrote %d cookies, want 1", len(cs))
	}
	return cs[0]
}

// flipFirst changes the first character of s.
func flipFirst(s string) string {
	if s == "" {
		return "x"
	}
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

func requestWith(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

func TestCookieJarAttributes(t *testing.T) {
	tests := []struct {
		name   string
		secure bool
		maxAge time.Duration
	}{
		{name: "browser-session cookie over http", secure: false, maxAge: 0},
		{name: "lasting cookie over https", secure: true, maxAge: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := setCookie(t, newCookieJar(cookieKey, tt.secure), sessionCookie, "sess-1", tt.maxAge)
			if !c.HttpOnly {
				t.Error("cookie is readable by scripts")
			}
			if c.SameSite != http.SameSiteLaxMode {
				t.Errorf("SameSite = %v, want Lax", c.SameSite)
			}
			if c.Secure != tt.secure {
				t.Errorf("Secure = %v, want %v", c.Secure, tt.secure)
			}
			if c.Path != "/" {
				t.Errorf("Path = %q, want /", c.Path)
			}
			if c.MaxAge != int(tt.maxAge/time.Second) {
				t.Errorf("MaxAge = %d, want %d", c.MaxAge, int(tt.maxAge/time.Second))
			}
		})
	}
	t.Run("clear expires the cookie", func(t *testing.T) {
		rec := httptest.NewRecorder()
		newCookieJar(cookieKey, true).clear(rec, sessionCookie)
		cs := rec.Result().Cookies()
		if len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Value != "" {
			t.Fatalf("clear wrote %+v", cs)
		}
	})
}

func TestCookieJarSigning(t *testing.T) {
	jar := newCookieJar(cookieKey, false)
	good := setCookie(t, jar, sessionCookie, "sess-abc", 0)
	value, sig, _ := strings.Cut(good.Value, ".")

	tests := []struct {
		name   string
		jar    *cookieJar
		cookie *http.Cookie
		read   string
		want   string
		wantOK bool
	}{
		{name: "signed value reads back", jar: jar, cookie: good, read: sessionCookie, want: "sess-abc", wantOK: true},
		{name: "another jar with the same key reads it", jar: newCookieJar(cookieKey, true), cookie: good, read: sessionCookie, want: "sess-abc", wantOK: true},
		{name: "changed value is refused", jar: jar, cookie: &http.Cookie{Name: sessionCookie, Value: "sess-abd." + sig}, read: sessionCookie},
		{name: "changed signature is refused", jar: jar, cookie: &http.Cookie{Name: sessionCookie, Value: value + "." + flipFirst(sig)}, read: sessionCookie},
		{name: "missing signature is refused", jar: jar, cookie: &http.Cookie{Name: sessionCookie, Value: value + "."}, read: sessionCookie},
		{name: "bare value is refused", jar: jar, cookie: &http.Cookie{Name: sessionCookie, Value: value}, read: sessionCookie},
		{name: "empty cookie is refused", jar: jar, cookie: &http.Cookie{Name: sessionCookie, Value: ""}, read: sessionCookie},
		{name: "cookie signed under another key is refused", jar: newCookieJar(otherCookieKey, false), cookie: good, read: sessionCookie},
		{name: "missing cookie is refused", jar: jar, cookie: &http.Cookie{Name: "unrelated", Value: good.Value}, read: sessionCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.jar.get(requestWith(tt.cookie), tt.read)
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("get = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}

	t.Run("value signed under one name is refused under another", func(t *testing.T) {
		csrf := setCookie(t, jar, csrfCookie, "sess-abc", 0)
		replayed := &http.Cookie{Name: sessionCookie, Value: csrf.Value}
		if got, ok := jar.get(requestWith(replayed), sessionCookie); ok {
			t.Fatalf("the CSRF cookie's value was accepted as a session: %q", got)
		}
	})
}

// postWithForm builds a parsed form POST carrying cookies.
func postWithForm(form url.Values, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	_ = r.ParseForm()
	return r
}

func TestCSRF(t *testing.T) {
	jar := newCookieJar(cookieKey, false)

	// A first visit to the form sets the CSRF cookie.
	rec := httptest.NewRecorder()
	token := jar.csrfToken(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	cs := rec.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != csrfCookie {
		t.Fatalf("csrfToken set %+v, want one %s cookie", cs, csrfCookie)
	}
	cookie := cs[0]
	raw, _, _ := strings.Cut(cookie.Value, ".")

	t.Run("a second visit keeps the cookie and the token", func(t *testing.T) {
		rec := httptest.NewRecorder()
		again := jar.csrfToken(rec, requestWith(cookie))
		if again != token {
			t.Errorf("token changed from %q to %q", token, again)
		}
		if n := len(rec.Result().Cookies()); n != 0 {
			t.Errorf("a second visit set %d cookies", n)
		}
	})
	t.Run("two browsers get different tokens", func(t *testing.T) {
		other := jar.csrfToken(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/login", nil))
		if other == token {
			t.Fatal("two fresh browsers share a CSRF token")
		}
	})
	t.Run("form token is not the cookie value", func(t *testing.T) {
		if token == raw || token == cookie.Value {
			t.Fatal("the form carries the cookie's value")
		}
	})

	otherBrowser := setCookie(t, jar, csrfCookie, "another-browser-value", 0)
	tests := []struct {
		name    string
		jar     *cookieJar
		form    url.Values
		cookies []*http.Cookie
		want    bool
	}{
		{name: "matching token and cookie pass", jar: jar, form: url.Values{"csrf_token": {token}}, cookies: []*http.Cookie{cookie}, want: true},
		{name: "missing token fails", jar: jar, form: url.Values{}, cookies: []*http.Cookie{cookie}},
		{name: "empty token fails", jar: jar, form: url.Values{"csrf_token": {""}}, cookies: []*http.Cookie{cookie}},
		{name: "wrong token fails", jar: jar, form: url.Values{"csrf_token": {token + "x"}}, cookies: []*http.Cookie{cookie}},
		{name: "token without the cookie fails", jar: jar, form: url.Values{"csrf_token": {token}}},
		{name: "token with another browser's cookie fails", jar: jar, form: url.Values{"csrf_token": {token}}, cookies: []*http.Cookie{otherBrowser}},
		{name: "cookie value posted as the token fails", jar: jar, form: url.Values{"csrf_token": {raw}}, cookies: []*http.Cookie{cookie}},
		{name: "signed cookie posted as the token fails", jar: jar, form: url.Values{"csrf_token": {cookie.Value}}, cookies: []*http.Cookie{cookie}},
		{name: "forged unsigned cookie fails", jar: jar, form: url.Values{"csrf_token": {jar.sign("csrf-form", "chosen")}}, cookies: []*http.Cookie{{Name: csrfCookie, Value: "chosen"}}},
		{name: "server with another key refuses the pair", jar: newCookieJar(otherCookieKey, false), form: url.Values{"csrf_token": {token}}, cookies: []*http.Cookie{cookie}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.jar.checkCSRF(postWithForm(tt.form, tt.cookies...)); got != tt.want {
				t.Fatalf("checkCSRF = %v, want %v", got, tt.want)
			}
		})
	}
}
