package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// cookieSafe reports whether value goes into a Set-Cookie header as it is:
// no byte that net/http would drop or quote, and no space at either end,
// which a Cookie header loses.
func cookieSafe(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\' || c == ',' {
			return false
		}
	}
	return true
}

// withCookie returns a request whose Cookie header is header.
func withCookie(header string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", header)
	return r
}

// FuzzCookieJar signs arbitrary values and reads arbitrary Cookie
// headers. A signed value reads back as itself; changing any one byte of
// a signed cookie gets it refused; and a cookie read as valid carries the
// signature of this key and this cookie name: the same value is refused
// under another key and under another name.
func FuzzCookieJar(f *testing.F) {
	jar := newCookieJar(cookieKey, false)
	other := newCookieJar(otherCookieKey, false)
	signed := sessionCookie + "=sess-abc." + jar.sign(sessionCookie, "sess-abc")
	for _, s := range []struct {
		value, header string
		at            uint16
		b             byte
	}{
		{"sess-abc", signed, 0, 'x'},
		{"Zm9vYmFy_-", signed, 9, '.'},
		{"a.b.c", signed + "; " + csrfCookie + "=x", 3, 'A'},
		{"", sessionCookie + "=.", 0, ';'},
		{"with space", sessionCookie + `="sess-abc.` + jar.sign(sessionCookie, "sess-abc") + `"`, 4, '"'},
		{"semi;colon", sessionCookie + "=a; " + signed, 100, 0},
		{strings.Repeat("v", 64), csrfCookie + "=sess-abc." + jar.sign(sessionCookie, "sess-abc"), 70, 0xff},
	} {
		f.Add(s.value, s.header, s.at, s.b)
	}
	f.Fuzz(func(t *testing.T, value, header string, at uint16, b byte) {
		if cookieSafe(value) {
			rec := httptest.NewRecorder()
			jar.set(rec, sessionCookie, value, 0)
			sent, _, _ := strings.Cut(rec.Header().Get("Set-Cookie"), ";")
			if got, ok := jar.get(withCookie(sent), sessionCookie); !ok || got != value {
				t.Fatalf("value %q signed as %q read back as %q, %v", value, sent, got, ok)
			}
		}
		cookie := value + "." + jar.sign(sessionCookie, value)
		if i := int(at) % len(cookie); cookie[i] != b {
			tampered := cookie[:i] + string([]byte{b}) + cookie[i+1:]
			if got, ok := jar.get(withCookie(sessionCookie+"="+tampered), sessionCookie); ok {
				t.Fatalf("signed %q changed at %d to %q was read as %q", cookie, i, tampered, got)
			}
		}

		got, ok := jar.get(withCookie(header), sessionCookie)
		if !ok {
			return
		}
		c, err := withCookie(header).Cookie(sessionCookie)
		if err != nil || c.Value != got+"."+jar.sign(sessionCookie, got) {
			t.Fatalf("header %q read as %q without its signature", header, got)
		}
		if v, ok := other.get(withCookie(header), sessionCookie); ok {
			t.Fatalf("header %q read as %q under another key too", header, v)
		}
		if v, ok := jar.get(withCookie(csrfCookie+"="+c.Value), csrfCookie); ok {
			t.Fatalf("session cookie %q read as the CSRF cookie %q", c.Value, v)
		}
	})
}
