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
// documents, back-channel logout endpoints, CIBA pings, client-hosted
// request objects, webhooks.
// They share a circuit breaker per host: a relying party that is down
// costs one timeout per breaker period, not one per request.
type outbound struct {
	breakers *hostBreakers
	// roots replaces the system's trusted roots when set (WithOutboundRoots).
	roots *x509.CertPool
	// transports are those of the clients made, whose kept-alive
	// connections closeIdle closes.
	mu         sync.Mutex
	transports []*http.Transport
}

func newOutbound(roots *x509.CertPool) *outbound {
	return &outbound{breakers: &hostBreakers{m: map[string]*resilience.Breaker{}}, roots: roots}
}

// client is for the URLs the operator configured (webhooks, the trusted
// issuers' jwks_uri): it reaches them as the configuration says, through
// the environment's proxy if any.
func (o *outbound) client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.roots}
	}
	return o.wrap(o.keep(tr))
}

// keep records tr for closeIdle.
func (o *outbound) keep(tr *http.Transport) *http.Transport {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.transports = append(o.transports, tr)
	return tr
}

// closeIdle closes the connections the clients keep alive between calls;
// a call made afterwards opens a new one.
func (o *outbound) closeIdle() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, tr := range o.transports {
		tr.CloseIdleConnections()
	}
}

// calledClient is for the URLs clients register: jwks_uri documents,
// back-channel logout and CIBA pings. It connects only to public addresses
// and to the private networks the operator named, checked on each address
// actually dialled, so that no name (nor a DNS answer that changes
// between a check and a call) leads a registrant's URL into the server's
// own network. It uses no proxy, so the address it checks is the address
// it reaches.
func (o *outbound) calledClient(private []netip.Prefix) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
		Control: refuseUnless(func(a netip.Addr) bool { return core.OutboundAddrAllowed(private, a) },
			"is not a public address, and OAUTH2_OUTBOUND_PRIVATE_NETWORKS does not name it")}
	return o.wrap(o.directTransport(d.DialContext))
}

// directTransport is a transport without a proxy that dials with dial.
func (o *outbound) directTransport(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	tr := &http.Transport{
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
	}
	if o.roots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.roots}
	}
	return o.keep(tr)
}

// requestURIClient fetches request objects by reference (RFC 9101 §5.2)
// from the allow-listed hosts only. It uses no proxy, so the address it
// checks is the address it reaches.
func (o *outbound) requestURIClient(hosts []string) *http.Client {
	d := &guardedDialer{hosts: hosts, dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}
	return o.wrap(o.directTransport(d.DialContext))
}

func (o *outbound) wrap(next http.RoundTripper) *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &breakerTransport{next: next, breakers: o.breakers},
		// Redirects could lead a fetch to a host nobody registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

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

// refuseUnless is a dialer Control that connects only to the addresses
// allowed accepts; a refusal says why an address was refused, after it.
func refuseUnless(allowed func(netip.Addr) bool, why string) func(_, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !allowed(ap.Addr()) {
			return fmt.Errorf("outbound: %s %s", ap.Addr(), why)
		}
		return nil
	}
}

// refuseNonPublic lets request_uri fetches by name reach public addresses
// only.
var refuseNonPublic = refuseUnless(core.PublicAddr, "is not a public address")

// breakerSink puts an event sink behind a circuit breaker, so a dead sink
// fails its batches at once and the relay or bus retries later instead of
// waiting out a timeout each time.
//
// timeout bounds each send and must end before the caller's deadline: a
// send cut short by the caller's deadline says nothing to the breaker, so
// a sink that stops answering would never open it and would hold every
// batch for the whole deadline.
type breakerSink struct {
	events.Sink
	b       *resilience.Breaker
	timeout time.Duration
}

func (s breakerSink) Send(ctx context.Context, evs []ports.Event) error {
	return s.b.Do(ctx, s.timeout, func(ctx context.Context) error { return s.Sink.Send(ctx, evs) })
}
