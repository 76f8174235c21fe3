package core

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"oauth2-server.dev/ports"
)

// loopbackHost returns the loopback IP literal an http URI names, as it is
// written in the URI (an IPv6 one in brackets), and the rest of the
// authority after it; ok is false for any other URI.
func loopbackHost(raw string) (written, afterHost string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(raw, "http://") || u.User != nil || u.Opaque != "" {
		return "", "", false
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", "", false
	}
	written = host
	if strings.Contains(host, ":") {
		written = "[" + host + "]"
	}
	rest, found := strings.CutPrefix(raw, "http://"+written)
	if !found {
		// The host was percent-encoded or otherwise spelled differently.
		return "", "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return written, rest[:end], true
}

// connectablePort reports whether s is a TCP port a browser can connect to,
// written as plain decimal digits.
func connectablePort(s string) bool {
	if s == "" || len(s) > 5 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(s)
	return n <= 65535
}

// portOnlyDiffers reports whether requested is registered with another
// port, or none, on an http loopback IP literal: the one variation RFC
// 8252 §7.3 allows. It compares parsed components, unlike the code under
// test, which compares text.
func portOnlyDiffers(registered, requested string) bool {
	gw, _, ok1 := loopbackHost(registered)
	rw, rport, ok2 := loopbackHost(requested)
	if !ok1 || !ok2 || gw != rw {
		return false
	}
	if rport != "" && (rport[0] != ':' || !connectablePort(rport[1:])) {
		return false
	}
	if strings.Contains(registered, "#") || strings.Contains(requested, "#") {
		return false
	}
	gu, _ := url.Parse(registered)
	ru, _ := url.Parse(requested)
	return gu.EscapedPath() == ru.EscapedPath() && gu.RawQuery == ru.RawQuery && gu.ForceQuery == ru.ForceQuery
}

// FuzzRedirectURIMatch compares arbitrary requested redirect URIs with an
// arbitrary registered one. A registered URI always matches itself; any
// other URI matches only for a native client, on an http loopback IP
// literal, and only if nothing but the port differs (RFC 9700 §4.1.3, RFC
// 8252 §7.3). Every valid port on a registered loopback URI matches.
func FuzzRedirectURIMatch(f *testing.F) {
	seeds := []struct {
		registered, requested string
		port                  uint16
	}{
		{"http://127.0.0.1/cb", "http://127.0.0.1:51004/cb", 51004},
		{"http://127.0.0.1:8000/cb", "http://127.0.0.1/cb", 1},
		{"http://[::1]/cb", "http://[::1]:8080/cb", 8080},
		{"http://127.0.0.1/cb", "http://127.0.0.1:/cb", 0},
		{"http://127.0.0.1/cb", "http://127.0.0.1:99999/cb", 65535},
		{"http://127.0.0.1/cb", "http://127.0.0.1:0080/cb", 80},
		{"http://127.0.0.1/cb", "http://127.0.0.1:+80/cb", 80},
		{"http://127.0.0.1/cb", "HTTP://127.0.0.1:8080/cb", 80},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/%63b", 80},
		{"http://127.0.0.1/c/b", "http://127.0.0.1:8080/c%2Fb", 80},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb?", 80},
		{"http://127.0.0.1/cb", "http://127.0.0.1:8080/cb#", 80},
		{"http://127.0.0.1/cb", "http://127.0.0.1@evil.example/cb", 80},
		{"http://127.0.0.1/cb", "http://evil@127.0.0.1:8080/cb", 80},
		{"http://127.0.0.1/cb", "http://127.0.0.1.:8080/cb", 80},
		{"http://127.0.0.1/cb", "http://127.0.0%2E1:8080/cb", 80},
		{"http://127.0.0.1/cb", "http://localhost:8080/cb", 80},
		{"http://localhost/cb", "http://localhost:8080/cb", 80},
		{"http://[::1]/cb", "http://[0:0:0:0:0:0:0:1]:8080/cb", 80},
		{"http://[::1]/cb", "http://[::1%25lo]:8080/cb", 80},
		{"http://[::ffff:127.0.0.1]/cb", "http://[::ffff:127.0.0.1]:8080/cb", 80},
		{"http://u@127.0.0.1/cb", "http://127.0.0.1:8080/cb", 80},
		{"https://app.example.com/cb", "https://app.example.com/cb", 443},
		{"https://app.example.com/cb", "https://app.example.com:444/cb", 444},
		{"com.example.app:/cb", "com.example.app:/cb", 1},
	}
	for _, s := range seeds {
		f.Add(s.registered, s.requested, s.port, true)
		f.Add(s.registered, s.requested, s.port, false)
	}
	f.Fuzz(func(t *testing.T, registered, requested string, port uint16, native bool) {
		appType := "web"
		if native {
			appType = "native"
		}
		c := &ports.Client{ID: "c", ApplicationType: appType, RedirectURIs: []string{registered}}
		if !redirectURIMatches(c, registered) {
			t.Fatalf("registered %q does not match itself", registered)
		}
		if requested != registered && redirectURIMatches(c, requested) {
			if !native {
				t.Fatalf("web client registered %q: %q matched", registered, requested)
			}
			if !portOnlyDiffers(registered, requested) {
				t.Fatalf("native client registered %q: %q matched, and differs in more than the port", registered, requested)
			}
		}
		// Every port is allowed on a registered loopback URI.
		written, regPort, ok := loopbackHost(registered)
		if !ok || !native || port == 0 || checkRedirectURI(registered, appType) != "" {
			return
		}
		variant := "http://" + written + ":" + strconv.Itoa(int(port)) + strings.TrimPrefix(registered, "http://"+written+regPort)
		if !redirectURIMatches(c, variant) {
			t.Fatalf("native client registered %q: port variant %q did not match", registered, variant)
		}
	})
}

// FuzzCheckRedirectURI feeds arbitrary redirect URIs to registration. An
// accepted one is absolute and has no fragment and no user info (RFC 6749
// §3.1.2); http is only for the loopback interface, a port is valid, and
// https has a host; private-use schemes are for native clients (RFC 8252
// §7); script and file schemes never pass.
func FuzzCheckRedirectURI(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com/cb",
		"https://app.example.com/cb?tenant=a",
		"http://127.0.0.1:8080/cb",
		"http://[::1]/cb",
		"http://localhost/cb",
		"com.example.app:/oauth2redirect",
		"https://app.example.com/cb#",
		"https://:443/cb",
		"https://user:pass@app.example.com/cb",
		"https://app.example.com@evil.example/cb",
		"http://127.0.0.1@evil.example/cb",
		"http://evil@127.0.0.1/cb",
		"http://127.0.0.1:/cb",
		"http://127.0.0.1:99999/cb",
		"http://127.0.0.1:0/cb",
		"http://127.0.0.1./cb",
		"http://localhost./cb",
		"http://loc%61lhost/cb",
		"http://[::1%25lo]/cb",
		"JavaScript:alert(1)",
		"data:text/html,x",
		"file:///etc/passwd",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, native bool) {
		appType := "web"
		if native {
			appType = "native"
		}
		if checkRedirectURI(raw, appType) != "" {
			return
		}
		u, err := url.Parse(raw)
		switch {
		case err != nil || !u.IsAbs():
			t.Fatalf("%q accepted: not an absolute URI", raw)
		case strings.Contains(raw, "#"):
			t.Fatalf("%q accepted with a fragment", raw)
		case u.User != nil:
			t.Fatalf("%q accepted with user info", raw)
		}
		switch u.Scheme {
		case "javascript", "data", "vbscript", "file":
			t.Fatalf("%q accepted", raw)
		case "https":
			if u.Hostname() == "" {
				t.Fatalf("https URI %q accepted without a host", raw)
			}
		case "http":
			host := u.Hostname()
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				t.Fatalf("http URI %q accepted off the loopback interface", raw)
			}
		default:
			if !native {
				t.Fatalf("private-use scheme %q accepted for a web client", raw)
			}
			return
		}
		if strings.HasSuffix(u.Host, ":") || u.Port() != "" && !connectablePort(u.Port()) {
			t.Fatalf("%q accepted with port %q", raw, u.Port())
		}
	})
}
