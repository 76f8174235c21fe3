package core

import (
	"slices"
	"strings"
	"testing"
)

// scopeTokenByte reports whether c may appear in a scope token (RFC 6749
// §3.3: %x21 / %x23-5B / %x5D-7E).
func scopeTokenByte(c byte) bool {
	return c == 0x21 || c >= 0x23 && c <= 0x5B || c >= 0x5D && c <= 0x7E
}

// FuzzParseScope feeds arbitrary scope parameters to the parser. It
// refuses a string only for a byte that is neither a space nor a scope
// token character; what it accepts is every space-delimited token, once,
// in the order of first appearance, and joining the tokens and parsing
// them again gives the same tokens.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{
		"", "openid", "openid profile email offline_access", "openid openid profile",
		" openid  profile ", "openid\tprofile", "openid\nprofile", `a"b`, `a\b`, "a\x7fb",
		"caf\u00e9", "api:read api:write https://api.example/orders.read", "!#[]~",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks, ok := ParseScope(s)
		if !ok {
			for i := 0; i < len(s); i++ {
				if s[i] != ' ' && !scopeTokenByte(s[i]) {
					return
				}
			}
			t.Fatalf("ParseScope(%q) refused a valid scope", s)
		}
		var want []string
		for tok := range strings.SplitSeq(s, " ") {
			if tok != "" && !slices.Contains(want, tok) {
				want = append(want, tok)
			}
		}
		if !slices.Equal(toks, want) {
			t.Fatalf("ParseScope(%q) = %q, want %q", s, toks, want)
		}
		for _, tok := range toks {
			for i := 0; i < len(tok); i++ {
				if !scopeTokenByte(tok[i]) {
					t.Fatalf("ParseScope(%q) accepted token %q", s, tok)
				}
			}
		}
		again, ok := ParseScope(JoinScope(toks))
		if !ok || !slices.Equal(again, toks) {
			t.Fatalf("ParseScope(JoinScope(%q)) = %q, %v", toks, again, ok)
		}
	})
}
