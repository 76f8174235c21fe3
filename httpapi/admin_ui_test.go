package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestAdminSignIn(t *testing.T) {
	jar := newCookieJar([]byte("cookie-key-0123456789abcdef01234"), false)
	current := &handlers{cookies: jar, adminToken: "admin-token-current-0123456789"}
	previous := &handlers{cookies: jar, adminToken: "admin-token-previous-012345678"}
	// cookie returns a request carrying the admin cookie h would set,
	// expiring at exp.
	cookie := func(h *handlers, exp time.Time) *http.Request {
		rec := httptest.NewRecorder()
		h.cookies.set(rec, adminCookie, strconv.FormatInt(exp.Unix(), 10)+"."+h.adminTokenMark(), adminSessionTTL)
		r := httptest.NewRequest(http.MethodGet, "/admin", nil)
		for _, c := range rec.Result().Cookies() {
			r.AddCookie(c)
		}
		return r
	}
	tests := []struct {
		name string
		r    *http.Request
		want bool
	}{
		{"a live sign-in", cookie(current, time.Now().Add(time.Minute)), true},
		{"an expired sign-in", cookie(current, time.Now().Add(-time.Second)), false},
		{"a sign-in with the admin token the server had before", cookie(previous, time.Now().Add(time.Minute)), false},
		{"no cookie", httptest.NewRequest(http.MethodGet, "/admin", nil), false},
		{"a cookie whose signature does not verify", func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/admin", nil)
			r.AddCookie(&http.Cookie{Name: adminCookie, Value: strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + "." + current.adminTokenMark() + ".forged"})
			return r
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := current.adminSignedIn(tt.r); got != tt.want {
				t.Fatalf("signed in = %v, want %v", got, tt.want)
			}
		})
	}
}
