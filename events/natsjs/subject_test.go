package natsjs

import "testing"

func TestSubject(t *testing.T) {
	s := &Sink{cfg: Config{SubjectPrefix: "oauth2.events"}}
	tests := []struct {
		name, typ, want string
	}{
		{name: "a dotted type becomes subject tokens", typ: "token.issued", want: "oauth2.events.token.issued"},
		{name: "wildcards cannot widen a subscription", typ: "token.*.>", want: "oauth2.events.token._._"},
		{name: "whitespace cannot split the subject", typ: "login failed\n", want: "oauth2.events.login_failed_"},
		{name: "stray dots leave no empty token", typ: ".key..rotated.", want: "oauth2.events.key.rotated"},
		{name: "an empty type still makes a valid subject", typ: "", want: "oauth2.events._"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Subject(tt.typ); got != tt.want {
				t.Errorf("Subject(%q) = %q, want %q", tt.typ, got, tt.want)
			}
		})
	}
}
