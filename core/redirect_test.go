package core

import (
	"strings"
	"testing"

	"oauth2-server.dev/ports"
)

func TestRedirectURIMatches(t *testing.T) {
	web := func(uris ...string) *ports.Client {
		return &ports.Client{ID: "web", ApplicationType: "web", RedirectURIs: uris}
	}
	native := func(uris ...string) *ports.Client {
		return &ports.Client{ID: "app", ApplicationType: "native", RedirectURIs: uris}
	}
	tests := []struct {
		name      string
		client    *ports.Client
		requested string
		want      bool
	}{
		{name: "registered URI matches exactly", client: web("https://app.example.com/cb"), requested: "https://app.example.com/cb", want: true},
		{name: "second registered URI matches", client: web("https://app.example.com/a", "https://app.example.com/b"), requested: "https://app.example.com/b", want: true},
		{name: "trailing slash differs", client: web("https://app.example.com/cb"), requested: "https://app.example.com/cb/"},
		{name: "extra query parameter differs", client: web("https://app.example.com/cb"), requested: "https://app.example.com/cb?next=/admin"},
		{name: "path traversal suffix differs", client: web("https://app.example.com/cb"), requested: "https://app.example.com/cb/../evil"},
		{name: "host case differs", client: web("https://app.example.com/cb"), requested: "https://APP.example.com/cb"},
		{name: "other host differs", client: web("https://app.example.com/cb"), requested: "https://app.example.com.evil.test/cb"},
		{name: "empty request matches nothing", client: web("https://app.example.com/cb"), requested: ""},

		{name: "native client may pick a port on 127.0.0.1", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:51004/cb", want: true},
		{name: "native client may change a registered port on 127.0.0.1", client: native("http://127.0.0.1:8000/cb"), requested: "http://127.0.0.1:9000/cb", want: true},
		{name: "native client may pick a port on [::1]", client: native("http://[::1]/cb"), requested: "http://[::1]:51004/cb", want: true},
		{name: "native client may drop the registered port", client: native("http://127.0.0.1:8000/cb"), requested: "http://127.0.0.1/cb", want: true},
		{name: "web client gets no port variance on 127.0.0.1", client: web("http://127.0.0.1/cb"), requested: "http://127.0.0.1:51004/cb"},
		{name: "web client gets no port variance on [::1]", client: web("http://[::1]/cb"), requested: "http://[::1]:51004/cb"},
		{name: "localhost gets no port variance", client: native("http://localhost/cb"), requested: "http://localhost:51004/cb"},
		{name: "loopback path must still match", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:51004/other"},
		{name: "loopback query must still match", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:51004/cb?x=1"},
		{name: "IPv4 registration does not cover IPv6", client: native("http://127.0.0.1/cb"), requested: "http://[::1]:51004/cb"},
		{name: "IPv6 registration does not cover IPv4", client: native("http://[::1]/cb"), requested: "http://127.0.0.1:51004/cb"},
		{name: "loopback with user info is refused", client: native("http://127.0.0.1/cb"), requested: "http://evil@127.0.0.1:51004/cb"},
		{name: "loopback with fragment is refused", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:51004/cb#x"},
		{name: "https loopback is not a loopback redirect", client: native("http://127.0.0.1/cb"), requested: "https://127.0.0.1:51004/cb"},
		{name: "loopback request needs a loopback registration", client: native("com.example.app:/cb"), requested: "http://127.0.0.1:51004/cb"},
		{name: "native client may pick the highest port", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:65535/cb", want: true},
		{name: "empty loopback port is refused", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:/cb"},
		{name: "loopback port out of range is refused", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:99999/cb"},
		{name: "loopback port 0 is refused", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:0/cb"},
		{name: "loopback port with a leading zero is refused", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:0080/cb"},
		{name: "loopback scheme case differs", client: native("http://127.0.0.1/cb"), requested: "HTTP://127.0.0.1:8080/cb"},
		{name: "loopback path encoding differs", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:8080/%63b"},
		{name: "loopback encoded slash is not a slash", client: native("http://127.0.0.1/c/b"), requested: "http://127.0.0.1:8080/c%2Fb"},
		{name: "loopback empty query differs", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:8080/cb?"},
		{name: "loopback empty fragment is refused", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1:8080/cb#"},
		{name: "loopback address as user info of another host is refused", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1@evil.example/cb"},
		{name: "loopback host with a trailing dot differs", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1.:8080/cb"},
		{name: "loopback host percent-encoded differs", client: native("http://127.0.0.1/cb"), requested: "http://127.0.0.1%2E:8080/cb"},
		{name: "IPv6 loopback spelled out differs", client: native("http://[::1]/cb"), requested: "http://[0:0:0:0:0:0:0:1]:8080/cb"},
		{name: "IPv6 loopback with a zone differs", client: native("http://[::1]/cb"), requested: "http://[::1%25lo]:8080/cb"},
		{name: "registration with user info lends no port variance", client: native("http://u@127.0.0.1/cb"), requested: "http://127.0.0.1:8080/cb"},
		{name: "native private scheme matches exactly", client: native("com.example.app:/cb"), requested: "com.example.app:/cb", want: true},
		{name: "native private scheme path differs", client: native("com.example.app:/cb"), requested: "com.example.app:/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redirectURIMatches(tt.client, tt.requested); got != tt.want {
				t.Fatalf("redirectURIMatches(%v, %q) = %v, want %v", tt.client.RedirectURIs, tt.requested, got, tt.want)
			}
		})
	}
}

func TestCheckRedirectURI(t *testing.T) {
	tests := []struct {
		name    string
		uri     string
		appType string
		wantErr string // part of the complaint; "" when the URI is accepted
	}{
		{name: "https URI is accepted", uri: "https://app.example.com/cb", appType: "web"},
		{name: "https URI with a query is accepted", uri: "https://app.example.com/cb?tenant=a", appType: "web"},
		{name: "http on 127.0.0.1 is accepted", uri: "http://127.0.0.1:8080/cb", appType: "web"},
		{name: "http on [::1] is accepted for a native client", uri: "http://[::1]/cb", appType: "native"},
		{name: "native private scheme is accepted", uri: "com.example.app:/oauth2redirect", appType: "native"},
		{name: "native claimed https URI is accepted", uri: "https://app.example.com/native-cb", appType: "native"},

		{name: "fragment is refused", uri: "https://app.example.com/cb#section", appType: "web", wantErr: "fragment"},
		{name: "empty fragment is refused", uri: "https://app.example.com/cb#", appType: "web", wantErr: "fragment"},
		{name: "http on a public host is refused", uri: "http://app.example.com/cb", appType: "web", wantErr: "https"},
		{name: "http on a public host is refused for native clients too", uri: "http://app.example.com/cb", appType: "native", wantErr: "https"},
		{name: "http on a host that starts like a loopback IP is refused", uri: "http://127.0.0.1.evil.test/cb", appType: "web", wantErr: "https"},
		{name: "private scheme is refused for web clients", uri: "com.example.app:/oauth2redirect", appType: "web", wantErr: "native"},
		{name: "javascript scheme is refused", uri: "javascript:alert(document.cookie)", appType: "native", wantErr: "not allowed"},
		{name: "javascript scheme in capitals is refused", uri: "JavaScript:alert(1)", appType: "native", wantErr: "not allowed"},
		{name: "data scheme is refused", uri: "data:text/html,<script>alert(1)</script>", appType: "native", wantErr: "not allowed"},
		{name: "vbscript scheme is refused", uri: "vbscript:msgbox(1)", appType: "native", wantErr: "not allowed"},
		{name: "file scheme is refused", uri: "file:///etc/passwd", appType: "native", wantErr: "not allowed"},
		{name: "relative URI is refused", uri: "/cb", appType: "web", wantErr: "absolute"},
		{name: "empty URI is refused", uri: "", appType: "web", wantErr: "absolute"},
		{name: "https without a host is refused", uri: "https:///cb", appType: "web", wantErr: "host"},
		{name: "unparsable URI is refused", uri: "https://app.example.com:port/cb", appType: "web", wantErr: "absolute"},
		{name: "https with a port and no host is refused", uri: "https://:443/cb", appType: "web", wantErr: "host"},
		{name: "user info that reads as another host is refused", uri: "https://app.example.com@evil.example/cb", appType: "web", wantErr: "user info"},
		{name: "user info on a loopback URI is refused", uri: "http://evil@127.0.0.1/cb", appType: "native", wantErr: "user info"},
		{name: "empty loopback port is refused", uri: "http://127.0.0.1:/cb", appType: "native", wantErr: "port"},
		{name: "loopback port out of range is refused", uri: "http://127.0.0.1:99999/cb", appType: "native", wantErr: "port"},
		{name: "https port 0 is refused", uri: "https://app.example.com:0/cb", appType: "web", wantErr: "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkRedirectURI(tt.uri, tt.appType)
			if tt.wantErr == "" {
				if got != "" {
					t.Fatalf("checkRedirectURI(%q, %s) = %q, want accepted", tt.uri, tt.appType, got)
				}
				return
			}
			if got == "" {
				t.Fatalf("checkRedirectURI(%q, %s) accepted it, want a complaint about %q", tt.uri, tt.appType, tt.wantErr)
			}
			if !strings.Contains(got, tt.wantErr) {
				t.Errorf("checkRedirectURI(%q, %s) = %q, want it to mention %q", tt.uri, tt.appType, got, tt.wantErr)
			}
		})
	}
}
