package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"oauth2-server.dev/core"
	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
)

// outbound makes the clients that call other servers: client jwks_uri
// documents, back-channel logout endpoints, client-hosted request objects.
// They share a circuit breaker per host: a relying party that is down
// costs one timeout per breaker period, not one per request.
type outbound struct {
	breakers *hostBreakers
	// roots replaces the system's trusted roots when set (WithOutboundRoots).
	roots *x509.CertPool
}

func newOutbound(roots *x509.CertPool) *outbound {
	return &outbound{breakers: &hostBreakers{m: map[string]*resilience.Breaker{}}, roots: roots}
}

// client is for jwks_uri documents and back-channel logout.
func (o *outbound) client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.roots}
	}
	return o.wrap(tr)
}

// requestURIClient fetches request objects by reference (RFC 9101 §5.2)
// from the allow-listed hosts only. It uses no proxy, so the address it
// checks is the address it reaches.
func (o *outbound) requestURIClient(hosts []string) *http.Client {
	d := &guardedDialer{hosts: hosts, dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
	}
	if o.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.roots}
	}
	return o.wrap(tr)
}

func (o *outbound) wrap(next http.RoundTripper) *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &breakerTransport{next: next, breakers: o.breakers},
		// Redirects could lead a fetch to a host nobody registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newOutboundClient is the jwks_uri and back-channel logout client with
// the system's roots.
func newOutboundClient() *http.Client { return newOutbound(nil).client() }

// hostBreakers holds one circuit breaker per remote host.
type hostBreakers struct {
	mu sync.Mutex
	m  map[string]*resilience.Breaker
}

func (h *hostBreakers) get(host string) *resilience.Breaker {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.m[host]
	if !ok {
		// No metrics: one series per remote host would let registrants
		// choose label values.
		b = resilience.NewBreaker(resilience.BreakerSettings{Name: "outbound"})
		h.m[host] = b
	}
	return b
}

// breakerTransport puts each call behind its host's circuit breaker.
type breakerTransport struct {
	next     http.RoundTripper
	breakers *hostBreakers
}

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var resp *http.Response
	err := t.breakers.get(req.URL.Host).Do(req.Context(), 0, func(ctx context.Context) error {
		var err error
		resp, err = t.next.RoundTrip(req.WithContext(ctx))
		if err == nil && resp.StatusCode >= 500 {
			// The answer goes back to the caller; the breaker counts it as
			// the other side failing.
			return errServerSide
		}
		return err
	})
	if resp != nil && errors.Is(err, errServerSide) {
		return resp, nil
	}
	return resp, err
}

type serverSideError struct{}

func (serverSideError) Error() string { return "the remote server answered 5xx" }

var errServerSide error = serverSideError{}

// guardedDialer connects request_uri fetches to allow-listed hosts only.
// A host name may lead only to public addresses, checked on each address
// actually dialled, so a name cannot be pointed at the server's own
// network (RFC 9101 §10.4.1), not even by changing its DNS answer between
// checks. An IP literal the operator listed is reached as written: naming
// a private address is how an operator allows one.
type guardedDialer struct {
	hosts  []string
	dialer net.Dialer
}

func (g *guardedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if !core.RequestURIHostAllowed(g.hosts, host, port) {
		return nil, fmt.Errorf("outbound: %s is not on the request_uri allow-list", addr)
	}
	d := g.dialer
	if _, err := netip.ParseAddr(host); err != nil {
		d.Control = refuseNonPublic
	}
	return d.DialContext(ctx, network, addr)
}

func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if !publicAddr(ap.Addr()) {
		return fmt.Errorf("outbound: %s is not a public address", ap.Addr())
	}
	return nil
}

// nonPublic are ranges that IsGlobalUnicast and IsPrivate let through but
// that lead to shared, reserved or translated address space (RFC 6890).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
}

// publicAddr reports whether a is a public unicast address: not loopback,
// private, link-local, multicast, unspecified or reserved.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// breakerSink puts an event sink behind a circuit breaker, so a dead sink
// fails its batches at once and the relay or bus retries later instead of
// waiting out a timeout each time.
type breakerSink struct {
	events.Sink
	b *resilience.Breaker
}

func (s breakerSink) Send(ctx context.Context, evs []ports.Event) error {
	return s.b.Do(ctx, 0, func(ctx context.Context) error { return s.Sink.Send(ctx, evs) })
}
