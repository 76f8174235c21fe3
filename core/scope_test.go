package core

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		name   string
		scope  string
		want   []string
		wantOK bool
	}{
		{name: "empty scope is no scopes", scope: "", want: nil, wantOK: true},
		{name: "tokens are split on spaces", scope: "openid profile email", want: []string{"openid", "profile", "email"}, wantOK: true},
		{name: "duplicates are dropped keeping the first", scope: "openid profile openid email profile", want: []string{"openid", "profile", "email"}, wantOK: true},
		{name: "tokens are case-sensitive", scope: "openid OpenID", want: []string{"openid", "OpenID"}, wantOK: true},
		{name: "extra spaces are tolerated", scope: " openid  profile ", want: []string{"openid", "profile"}, wantOK: true},
		{name: "every allowed punctuation character is kept", scope: "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", want: []string{"!#$%&'()*+,-./:;<=>?@[]^_`{|}~"}, wantOK: true},
		{name: "URL-shaped scopes are allowed", scope: "https://api.example.com/read api:write", want: []string{"https://api.example.com/read", "api:write"}, wantOK: true},
		{name: "double quote is refused", scope: `openid "profile"`},
		{name: "backslash is refused", scope: `openid pro\file`},
		{name: "tab is not a separator", scope: "openid\tprofile"},
		{name: "newline is refused", scope: "openid\nprofile"},
		{name: "control character is refused", scope: "openid\x01"},
		{name: "DEL is refused", scope: "openid\x7f"},
		{name: "non-ASCII letter is refused", scope: "profilé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseScope(tt.scope)
			if ok != tt.wantOK {
				t.Fatalf("ParseScope(%q) ok = %v, want %v", tt.scope, ok, tt.wantOK)
			}
			if !tt.wantOK {
				if got != nil {
					t.Errorf("refused scope still returned %q", got)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseScope(%q) = %q, want %q", tt.scope, got, tt.want)
			}
		})
	}
	t.Run("a megabyte of distinct tokens is parsed in a moment", func(t *testing.T) {
		// A form body may carry this much; parsing it must not tie up a
		// core for the time a request is allowed to take.
		var b strings.Builder
		n := 0
		for ; b.Len() < 1<<20; n++ {
			b.WriteString("s" + strconv.Itoa(n) + " s0 ")
		}
		start := time.Now()
		got, ok := ParseScope(b.String())
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("ParseScope of %d bytes took %v", b.Len(), took)
		}
		if !ok || len(got) != n || got[0] != "s0" || got[n-1] != "s"+strconv.Itoa(n-1) {
			t.Fatalf("ParseScope returned %d tokens, ok %v; want %d distinct tokens in order", len(got), ok, n)
		}
	})
	t.Run("joining parsed scopes gives the canonical form", func(t *testing.T) {
		got, _ := ParseScope("email  openid email")
		if s := JoinScope(got); s != "email openid" {
			t.Fatalf("JoinScope = %q, want %q", s, "email openid")
		}
	})
}
