package core

import (
	"net/netip"
	"strings"
	"testing"
)

// loopbackNetworks lets tests whose relying parties listen on this
// machine register them.
var loopbackNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fd00::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false},
		{"2002:a00:1::", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := PublicAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Fatalf("PublicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestOutboundAddrAllowed(t *testing.T) {
	private := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("fd00:1::/64")}
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"10.20.3.4", true},
		{"::ffff:10.20.3.4", true},
		{"fd00:1::5", true},
		{"10.21.0.1", false},
		{"127.0.0.1", false},
		{"169.254.169.254", false},
		{"fd00:2::5", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := OutboundAddrAllowed(private, netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Fatalf("OutboundAddrAllowed(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestRegisteredURLsTheServerCalls(t *testing.T) {
	const cc = `"grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt"`
	const web = `"redirect_uris":["https://app.example/cb"]`
	tests := []struct {
		name     string
		private  []netip.Prefix
		metadata string
		wantErr  string // part of the description; "" when accepted
	}{
		{name: "jwks_uri on a public name", metadata: `{` + cc + `,"jwks_uri":"https://rp.example/jwks"}`},
		{name: "jwks_uri on a private IP", metadata: `{` + cc + `,"jwks_uri":"https://10.1.2.3/jwks"}`, wantErr: "jwks_uri must lead to a public address: the server does not call 10.1.2.3"},
		{name: "jwks_uri on the metadata address", metadata: `{` + cc + `,"jwks_uri":"https://169.254.169.254/jwks"}`, wantErr: "jwks_uri must lead to a public address"},
		{name: "jwks_uri on a private IP the operator allows", private: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, metadata: `{` + cc + `,"jwks_uri":"https://10.1.2.3/jwks"}`},
		{name: "back-channel logout to loopback", metadata: `{` + web + `,"backchannel_logout_uri":"http://127.0.0.1:9000/logout"}`, wantErr: "backchannel_logout_uri must lead to a public address: the server does not call 127.0.0.1"},
		{name: "back-channel logout to localhost", metadata: `{` + web + `,"backchannel_logout_uri":"http://localhost:9000/logout"}`, wantErr: "the server does not call localhost"},
		{name: "back-channel logout to IPv6 loopback", metadata: `{` + web + `,"backchannel_logout_uri":"http://[::1]:9000/logout"}`, wantErr: "the server does not call ::1"},
		{name: "back-channel logout to loopback the operator allows", private: loopbackNetworks, metadata: `{` + web + `,"backchannel_logout_uri":"http://localhost:9000/logout"}`},
		{name: "front-channel logout is the browser's call", metadata: `{` + web + `,"frontchannel_logout_uri":"http://127.0.0.1:9000/logout"}`},
		{name: "redirect URIs are the browser's call", metadata: `{"redirect_uris":["http://127.0.0.1:9000/cb"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProvider(t, Config{OutboundPrivateNetworks: tt.private})
			_, err := p.buildClient([]byte(tt.metadata))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if errCode(err) != "invalid_client_metadata" || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want invalid_client_metadata with %q", err, tt.wantErr)
			}
		})
	}
}
