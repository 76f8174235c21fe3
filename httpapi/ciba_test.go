package httpapi

import (
	"net/url"
	"testing"
)

func TestLocalNext(t *testing.T) {
	tests := []struct {
		name, next, want string
	}{
		{"device page", "/device?user_code=BCDF-GHJK", "/device?user_code=BCDF-GHJK"},
		{"CIBA decision page", "/ciba?id=abc", "/ciba?id=abc"},
		{"account page", "/account", "/account"},
		{"another host", "https://evil.example/ciba", ""},
		{"protocol-relative URL", "//evil.example/ciba", ""},
		{"a page that is not a return target", "/consent?request_id=x", ""},
		{"a return target's prefix on another page", "/devices", ""},
		{"a dot segment out of the account page", "/account/../consent", ""},
		{"an escaped dot segment", "/account/%2e%2e/consent", ""},
		{"a path below a return target", "/account/password", ""},
		{"a backslash", "/device\\evil.example", ""},
		{"a fragment is dropped", "/account#x", "/account"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localNext(tt.next); got != tt.want {
				t.Fatalf("localNext(%q) = %q, want %q", tt.next, got, tt.want)
			}
		})
	}
}

func TestCIBASignInReturnsToTheDecision(t *testing.T) {
	for _, id := range []string{"abc_DEF-123", "a&next=//evil.example", "x y+z"} {
		t.Run(id, func(t *testing.T) {
			u, err := url.Parse(cibaSignIn(id))
			if err != nil || u.Path != "/login" {
				t.Fatalf("sign-in URL %q", cibaSignIn(id))
			}
			next := localNext(u.Query().Get("next"))
			back, err := url.Parse(next)
			if err != nil || back.Path != "/ciba" || back.Query().Get("id") != id || len(u.Query()) != 1 {
				t.Fatalf("sign-in returns to %q, want the decision page of %q", next, id)
			}
		})
	}
}
