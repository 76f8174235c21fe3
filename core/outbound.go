package core

import (
	"net/netip"
	"net/url"
	"strings"
)

// The server calls some URLs that clients register: jwks_uri to fetch
// their keys, backchannel_logout_uri to deliver logout tokens and
// backchannel_client_notification_endpoint to ping them (CIBA). Whoever
// registers a client chooses where those calls go, so they must not lead
// into the server's own network (server-side request forgery): a call may
// reach a public address, or one in Config.OutboundPrivateNetworks. The
// HTTP client the server composes checks every address it dials; the
// checks below refuse at registration what can be known then, an IP
// literal or localhost, so that a registrant learns it at once instead of
// from calls that never arrive.

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

// PublicAddr reports whether a is a public unicast address: not loopback,
// private, link-local, multicast, unspecified or reserved.
func PublicAddr(a netip.Addr) bool {
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

// OutboundAddrAllowed reports whether the server may connect to a when it
// calls a URL a client registered: a public address, or one of the
// operator's private networks.
func OutboundAddrAllowed(private []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if PublicAddr(a) {
		return true
	}
	for _, p := range private {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkCalledURL returns what is wrong with a URL the server will call,
// or "": its host must not be an address the server refuses to reach.
// Host names other than localhost are resolved, and checked, only when
// called.
func (p *Provider) checkCalledURL(name, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	var addrs []netip.Addr
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	} else if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	}
	for _, a := range addrs {
		if !OutboundAddrAllowed(p.cfg.OutboundPrivateNetworks, a) {
			return name + " must lead to a public address: the server does not call " + u.Hostname()
		}
	}
	return ""
}
