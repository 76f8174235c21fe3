package core

import (
	"slices"
	"strings"
)

// Scopes the server knows the meaning of.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// StandardScopes is offered to clients that register without a scope.
var StandardScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// ParseScope splits a scope parameter into its tokens, dropping duplicates.
// It reports false if a token breaks RFC 6749 §3.3 syntax. Its time grows
// linearly with the input: a scope of a megabyte, which a form may carry,
// costs milliseconds, not minutes.
func ParseScope(s string) ([]string, bool) {
	var out []string
	// Few tokens are checked for duplicates by a scan; past that a set
	// keeps the check from growing with the square of their number.
	const scanned = 16
	var seen map[string]struct{}
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			continue
		}
		// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			if c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
				return nil, false
			}
		}
		switch {
		case seen != nil:
			if _, dup := seen[tok]; dup {
				continue
			}
			seen[tok] = struct{}{}
		case slices.Contains(out, tok):
			continue
		case len(out) == scanned:
			seen = make(map[string]struct{}, 2*scanned)
			for _, o := range out {
				seen[o] = struct{}{}
			}
			seen[tok] = struct{}{}
		}
		out = append(out, tok)
	}
	return out, true
}

// JoinScope joins scope tokens with spaces.
func JoinScope(scopes []string) string { return strings.Join(scopes, " ") }

// hasScope reports whether the space-separated scope contains tok.
func hasScope(scope, tok string) bool {
	for _, s := range strings.Split(scope, " ") {
		if s == tok {
			return true
		}
	}
	return false
}

// subset reports whether every token of want is in have.
func subset(want []string, have string) bool {
	got, _ := ParseScope(have)
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// ScopeDescription says in words what granting a scope lets a client do,
// for the consent page.
func ScopeDescription(scope string) string {
	switch scope {
	case ScopeOpenID:
		return "Sign you in and know who you are"
	case ScopeProfile:
		return "See your name and username"
	case ScopeEmail:
		return "See your email address"
	case ScopeOfflineAccess:
		return "Keep access while you are away"
	}
	return "Access \u201c" + scope + "\u201d"
}
