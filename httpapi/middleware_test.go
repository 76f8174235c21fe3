package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRealIP(t *testing.T) {
	proxies := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{name: "without trusted proxies the header is ignored", remote: "10.0.0.1:4000", xff: []string{"203.0.113.7"}, want: "10.0.0.1"},
		{name: "untrusted peer cannot claim another address", trusted: proxies, remote: "198.51.100.9:4000", xff: []string{"203.0.113.7"}, want: "198.51.100.9"},
		{name: "trusted proxy without the header", trusted: proxies, remote: "10.0.0.1:4000", want: "10.0.0.1"},
		{name: "trusted proxy names the client", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"203.0.113.7"}, want: "203.0.113.7"},
		{name: "address the client made up is skipped", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"1.2.3.4, 203.0.113.7"}, want: "203.0.113.7"},
		{name: "rightmost untrusted hop behind a proxy chain", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"1.2.3.4, 203.0.113.7, 10.0.0.3, 10.0.0.2"}, want: "203.0.113.7"},
		{name: "repeated headers are read as one list", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"1.2.3.4", "203.0.113.7"}, want: "203.0.113.7"},
		{name: "spaces around hops are ignored", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{" 1.2.3.4 ,  203.0.113.7 "}, want: "203.0.113.7"},
		{name: "chain of trusted proxies only gives the farthest", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"10.0.0.3, 10.0.0.2"}, want: "10.0.0.3"},
		{name: "unparsable nearest hop is not believed", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"1.2.3.4, not-an-ip"}, want: "10.0.0.1"},
		{name: "unparsable hop stops the walk", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"1.2.3.4, not-an-ip, 10.0.0.2"}, want: "10.0.0.2"},
		{name: "IPv6 client behind a trusted proxy", trusted: proxies, remote: "[fd00::1]:4000", xff: []string{"2001:db8::7"}, want: "2001:db8::7"},
		{name: "IPv6 peer without proxies", remote: "[2001:db8::9]:4000", want: "2001:db8::9"},
		{name: "IPv4-mapped proxy address is trusted", trusted: proxies, remote: "[::ffff:10.0.0.1]:4000", xff: []string{"203.0.113.7"}, want: "203.0.113.7"},
		{name: "IPv4-mapped client address is unmapped", trusted: proxies, remote: "10.0.0.1:4000", xff: []string{"::ffff:203.0.113.7"}, want: "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got netip.Addr
			h := realIP(tt.trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = ClientIPFrom(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got.String() != tt.want {
				t.Fatalf("client IP = %s, want %s", got, tt.want)
			}
		})
	}
}
