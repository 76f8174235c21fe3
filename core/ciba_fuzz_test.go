package core

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"oauth2-server.dev/ports"
)

// FuzzParseBackchannelRequest feeds arbitrary forms to the backchannel
// authentication request parser: it must never panic, and whatever it
// accepts must hold what CIBA §7.1 requires.
func FuzzParseBackchannelRequest(f *testing.F) {
	f.Add("scope=openid&login_hint=alice", false)
	f.Add("scope=openid+profile&id_token_hint=a.b.c&binding_message=W4SCT&requested_expiry=120", false)
	f.Add("scope=openid&login_hint=alice&client_notification_token=abc-DEF_123~%2B%2F%3D%3D", true)
	f.Fuzz(func(t *testing.T, query string, ping bool) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		mode := ports.CIBAModePoll
		if ping {
			mode = ports.CIBAModePing
		}
		bp, err := parseBackchannelRequest(form, mode)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v is not a protocol error", err)
			}
			return
		}
		for name, v := range form {
			if len(v) > 1 {
				t.Fatalf("repeated %s accepted", name)
			}
		}
		if !slices.Contains(bp.scopes, ScopeOpenID) {
			t.Fatalf("scope %v without openid accepted", bp.scopes)
		}
		if (bp.loginHint == "") == (bp.idTokenHint == "") || form.Get("login_hint_token") != "" {
			t.Fatalf("not exactly one supported hint: %+v", bp)
		}
		if bp.loginHint != strings.TrimSpace(bp.loginHint) {
			t.Fatalf("login_hint %q kept its spaces", bp.loginHint)
		}
		if m := bp.bindingMessage; m != "" && (!utf8.ValidString(m) || utf8.RuneCountInString(m) > MaxBindingMessage || strings.ContainsAny(m, "\r\n\t\x00")) {
			t.Fatalf("binding_message %q accepted", m)
		}
		if bp.expiry <= 0 || bp.expiry > cibaMaxExpiry || bp.expiry%time.Second != 0 {
			t.Fatalf("expiry %v accepted", bp.expiry)
		}
		if ping && (!isB64Token(bp.notificationToken) || len(bp.notificationToken) > maxNotificationToken) {
			t.Fatalf("client_notification_token %q accepted", bp.notificationToken)
		}
		if !ping && bp.notificationToken != "" {
			t.Fatal("a poll-mode request kept a client_notification_token")
		}
		if form.Get("request") != "" || form.Get("user_code") != "" {
			t.Fatal("a signed request or a user_code was accepted")
		}
	})
}

// FuzzIDTokenHint feeds arbitrary id_token_hint values to their check: it
// must never panic, and only the genuine token, whatever its encoding of
// the signature, may name a user.
func FuzzIDTokenHint(f *testing.F) {
	fx := newCIBAFixture(f, "")
	genuine := fx.idTokenFor(f, "poll-client", "user-alice")
	f.Add(genuine)
	f.Add(forge(genuine))
	f.Add(fx.accessTokenFor(f, "user-alice"))
	signed := genuine[:strings.LastIndexByte(genuine, '.')]
	f.Fuzz(func(t *testing.T, hint string) {
		sub, ok := fx.p.idTokenHintSubject(hint, "poll-client")
		if !ok {
			return
		}
		if sub != "user-alice" || !strings.HasPrefix(hint, signed+".") {
			t.Fatalf("hint %q accepted for %q", hint, sub)
		}
	})
}
