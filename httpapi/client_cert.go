package httpapi

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"

	"oauth2-server.dev/core"
	"oauth2-server.dev/core/mtls"
)

// ClientCertHeader names the header in which a TLS-terminating proxy
// forwards the client's certificate (RFC 8705 §2 behind a proxy), and
// its format, one of mtls.Formats. The chain, if the proxy sends it,
// comes in the same name with -Chain appended (Client-Cert-Chain for
// RFC 9440). The header is believed only on connections from
// Options.TrustedProxies.
type ClientCertHeader struct {
	Name   string
	Format string
}

// certSource finds the TLS client certificate of a request.
type certSource struct {
	// header and chain are canonical header keys; "" when no proxy
	// forwards certificates.
	header, chain string
	format        string
	trusted       []netip.Prefix
}

func newCertSource(h ClientCertHeader, trusted []netip.Prefix) (certSource, error) {
	if h.Name == "" {
		return certSource{}, nil
	}
	if !slices.Contains(mtls.Formats, h.Format) {
		return certSource{}, fmt.Errorf("httpapi: client certificate header format %q: want one of %s", h.Format, strings.Join(mtls.Formats, ", "))
	}
	if len(trusted) == 0 {
		return certSource{}, fmt.Errorf("httpapi: a client certificate header needs trusted proxies")
	}
	name := textproto.CanonicalMIMEHeaderKey(h.Name)
	return certSource{header: name, chain: name + "-Chain", format: h.Format, trusted: trusted}, nil
}

// clientCertificates returns the TLS client certificate chain of a
// request, the client's own certificate first: on a connection from a
// trusted proxy, the one it forwarded in the header; on any other, the
// one of the server's own TLS connection. A certificate a trusted proxy
// presents on its own connection is the proxy's, not its client's, and a
// header from anyone but a trusted proxy is ignored, as anyone can write
// it. nil without a certificate. Requests without one pay a map lookup
// or two.
func (h *handlers) clientCertificates(r *http.Request) ([]*x509.Certificate, error) {
	native := r.TLS != nil && len(r.TLS.PeerCertificates) > 0
	src := h.certs
	if src.header == "" {
		if native {
			return r.TLS.PeerCertificates, nil
		}
		return nil, nil
	}
	values := r.Header[src.header]
	if len(values) == 0 && !native {
		return nil, nil
	}
	if src.fromTrustedProxy(r) {
		if len(values) == 0 {
			return nil, nil
		}
		return src.forwarded(values, r.Header[src.chain])
	}
	if len(values) > 0 {
		h.log.InfoContext(r.Context(), "client certificate header ignored: the connection is not from a trusted proxy",
			"request_id", RequestIDFrom(r.Context()), "header", src.header)
	}
	if native {
		return r.TLS.PeerCertificates, nil
	}
	return nil, nil
}

// forwarded parses the certificate header lines a trusted proxy sent, and
// the lines of the chain header.
func (s certSource) forwarded(values, chainValues []string) ([]*x509.Certificate, error) {
	bad := func(why string) error {
		return core.ErrInvalidRequest.WithDescription("the " + s.header + " header " + why)
	}
	value, chain := values[0], ""
	switch s.format {
	case mtls.FormatXFCC:
		// Header lines of a list make one list: each proxy on the way
		// adds an element.
		value = strings.Join(values, ",")
	default:
		if len(values) > 1 {
			return nil, bad("must be sent once")
		}
		sep := ","
		if s.format == mtls.FormatPEM {
			sep = ""
		}
		chain = strings.Join(chainValues, sep)
	}
	certs, err := mtls.ParseHeader(s.format, value, chain)
	if err != nil {
		return nil, bad("is not a client certificate this server can read: " + strings.TrimPrefix(err.Error(), mtls.ErrMalformed.Error()+": "))
	}
	return certs, nil
}

// fromTrustedProxy reports whether the request came over a connection
// from a trusted proxy. It looks at the connection's peer, never at
// X-Forwarded-For, which the client may have written.
func (s certSource) fromTrustedProxy(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
