package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"oauth2-server.dev/core/secret"
)

// Cookie names.
const (
	sessionCookie = "oauth2_session"
	csrfCookie    = "oauth2_csrf"
)

// cookieJar writes and reads HMAC-signed cookies. Values are signed with
// their name, so one cookie's value cannot be replayed as another's.
type cookieJar struct {
	key    []byte
	secure bool
}

func newCookieJar(key []byte, secure bool) *cookieJar {
	return &cookieJar{key: key, secure: secure}
}

func (j *cookieJar) sign(name, value string) string {
	m := hmac.New(sha256.New, j.key)
	m.Write([]byte(name + "|" + value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// set writes a signed, HttpOnly, SameSite=Lax cookie. maxAge 0 makes a
// browser-session cookie.
func (j *cookieJar) set(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	// Secure is set whenever the issuer is https (Options.SecureCookies,
	// from config.HTTPSIssuer). A plain-http issuer (loopback, or with
	// OAUTH2_ALLOW_INSECURE_ISSUER) gets plain cookies: browsers do not keep
	// Secure cookies from plain-http pages, and sign-in would fail.
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- Secure on every https issuer, see above
		Name: name, Value: value + "." + j.sign(name, value), Path: "/",
		MaxAge: int(maxAge / time.Second), HttpOnly: true, Secure: j.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// get returns the cookie's value if present and correctly signed.
func (j *cookieJar) get(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return "", false
	}
	dot := strings.LastIndexByte(c.Value, '.')
	if dot < 0 {
		return "", false
	}
	value, sig := c.Value[:dot], c.Value[dot+1:]
	if !hmac.Equal([]byte(sig), []byte(j.sign(name, value))) {
		return "", false
	}
	return value, true
}

func (j *cookieJar) clear(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{ // #nosec G124 -- Secure on every https issuer, as in set
		Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: j.secure, SameSite: http.SameSiteLaxMode,
	})
}

// csrfToken returns the form token for this browser, setting the CSRF
// cookie if the browser has none. The form carries an HMAC of the cookie's
// value rather than the value itself.
func (j *cookieJar) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v, ok := j.get(r, csrfCookie)
	if !ok {
		v = secret.Random(24)
		j.set(w, csrfCookie, v, 0)
	}
	return j.sign("csrf-form", v)
}

// checkCSRF reports whether the posted form token matches the cookie.
func (j *cookieJar) checkCSRF(r *http.Request) bool {
	v, ok := j.get(r, csrfCookie)
	if !ok {
		return false
	}
	return hmac.Equal([]byte(r.PostForm.Get("csrf_token")), []byte(j.sign("csrf-form", v)))
}
