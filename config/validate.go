package config

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// validate checks each setting by its definition, then what involves
// several settings, section by section; it fills in what follows from
// other settings (the issuer's form, dev mode's key, the certificate
// header's format).
func (c *Config) validate(r *report) {
	for _, s := range settings {
		s.check(c, r)
	}
	c.Server.check(r, c.Dev)
	if _, err := c.Store.Kind(); err != nil {
		r.bad("%v", err)
	}
	c.checkKeys(r)
	c.Seed.check(r)
	if !c.Dev {
		c.checkSecrets(r)
		c.Outbound.check(r)
	} else if c.Outbound.AllowLocal || c.Server.AllowInsecureIssuer {
		r.warn("OAUTH2_ALLOW_INSECURE_ISSUER and OAUTH2_ALLOW_LOCAL_OUTBOUND change nothing in dev mode, which allows both")
	}
	c.Events.check(r, c.Redis.URL, c.Dev)
	c.CIBA.check(r, c.Dev)
	c.TLS.check(r, c.Server)
	c.Telemetry.check(r, c.Server.Addr)
}

// check refuses an issuer that is no absolute URL, or that would carry
// codes and tokens in clear text, and drops its trailing slash.
func (s *Server) check(r *report, dev bool) {
	s.Issuer = strings.TrimRight(s.Issuer, "/")
	if s.Issuer == "" {
		r.bad("OAUTH2_ISSUER is required (for example https://id.example.com)")
		return
	}
	u, err := url.Parse(s.Issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		// RFC 8414 §2: an https URL with no query or fragment.
		r.bad("OAUTH2_ISSUER %q must be an absolute URL without query or fragment", s.Issuer)
		return
	}
	if u.Scheme == "https" || u.Scheme == "http" && isLoopbackHost(u.Hostname()) || dev {
		return
	}
	// A loopback issuer is reached from this host alone; any other
	// carries codes, tokens and session cookies across a network.
	switch {
	case u.Scheme != "http":
		r.bad("OAUTH2_ISSUER %q must use https", s.Issuer)
	case s.AllowInsecureIssuer:
		r.warn("OAUTH2_ISSUER %q is plain http (OAUTH2_ALLOW_INSECURE_ISSUER=1): codes, tokens and session cookies cross the network in clear text", s.Issuer)
	default:
		r.bad("OAUTH2_ISSUER %q must use https unless it is a loopback address: codes, tokens and session cookies would cross the network in clear text (OAUTH2_ALLOW_INSECURE_ISSUER=1 accepts it, for a closed test network)", s.Issuer)
	}
}

// checkKeys requires a key-encryption key outside dev mode, derives dev
// mode's, and holds the signing keys' schedule to the token lifetimes.
func (c *Config) checkKeys(r *report) {
	k := &c.Keys
	switch {
	case k.EncryptionKey != nil:
	case c.Dev:
		k.EncryptionKey = devKey(c.Store.URL)
		r.warn("OAUTH2_KEY_ENCRYPTION_KEY is not set: dev mode derived a fixed key from the database location. Anyone can derive it; never use it for real users.")
	default:
		r.bad("OAUTH2_KEY_ENCRYPTION_KEY is required outside dev mode: it seals the signing keys and keys cookie signatures (32 random bytes, base64: openssl rand -base64 32)")
	}
	// A replaced key must verify every token it signed until they expire.
	if k.GracePeriod < max(c.Tokens.AccessTokenTTL, c.Tokens.IDTokenTTL) {
		r.bad("key_grace_period must be at least the access and ID token lifetimes")
	}
	if k.RotationInterval > 0 && k.RotationInterval <= k.PropagationDelay {
		r.bad("key_rotation_interval must be longer than key_propagation_delay")
	}
}

func (s *Seed) check(r *report) {
	if (s.Username == "") != (s.Password == "") {
		r.bad("OAUTH2_SEED_USERNAME and OAUTH2_SEED_PASSWORD go together")
	}
}

// checkSecrets refuses, outside dev mode, secrets short enough to guess and
// one secret used for two purposes. The key-encryption key and the webhook
// secrets are checked where they are read, in dev mode too.
func (c *Config) checkSecrets(r *report) {
	if p := c.Seed.Password; p != "" && (p == DevSeedPassword || len(p) < 12) {
		r.bad("OAUTH2_SEED_PASSWORD must not be the dev default and must have at least 12 characters outside dev mode: it signs in a real user")
	}
	for _, s := range []struct{ name, value, grants string }{
		{"OAUTH2_REGISTRATION_TOKEN", c.Registration.Token, "registers clients"},
		{"OAUTH2_ADMIN_TOKEN", c.Admin.Token, "administers every client, user and key"},
	} {
		if s.value != "" && len(s.value) < minTokenLength {
			r.bad("%s must have at least %d characters outside dev mode: whoever guesses it %s (openssl rand -hex 24)", s.name, minTokenLength, s.grants)
		}
	}
	if c.Admin.Token != "" && c.Admin.Token == c.Registration.Token {
		r.bad("OAUTH2_ADMIN_TOKEN must differ from OAUTH2_REGISTRATION_TOKEN: whoever may register a client would administer the server")
	}
	for _, s := range []struct{ name, value string }{
		{"OAUTH2_EVENT_WEBHOOK_SECRET", c.Events.WebhookSecret},
		{"OAUTH2_CIBA_WEBHOOK_SECRET", c.CIBA.WebhookSecret},
	} {
		if s.value != "" && (s.value == c.Admin.Token || s.value == c.Registration.Token) {
			r.bad("%s must differ from the registration and admin tokens: the receiver of a webhook would hold them", s.name)
		}
	}
}

// minTokenLength is the shortest bearer token accepted outside dev mode:
// 24 characters of hex are 96 bits.
const minTokenLength = 24

// localNetworks are the addresses a client-registered URL must not reach
// unless the operator says so: the server's own host, link-local
// addresses (169.254.169.254 and fd00:ec2::254 serve cloud instance
// credentials) and "this network", also as IPv4-mapped IPv6.
var localNetworks = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback, the server's own host"},
	{netip.MustParsePrefix("::1/128"), "loopback, the server's own host"},
	{netip.MustParsePrefix("::ffff:127.0.0.0/104"), "loopback, the server's own host"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, where cloud metadata services hand out credentials"},
	{netip.MustParsePrefix("::ffff:169.254.0.0/112"), "link-local, where cloud metadata services hand out credentials"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata service"},
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network", which reaches the server's own host`},
	{netip.MustParsePrefix("::/128"), `the unspecified address, which reaches the server's own host`},
}

// check refuses, outside dev mode, outbound private networks that reach
// loopback, link-local or "this network" addresses without AllowLocal.
// Opening the private networks where relying parties live is an
// operator's ordinary choice and stays allowed; these lead to the server
// itself and to the cloud's credentials, which no relying party needs, and
// a network as wide as 0.0.0.0/0 contains them.
func (o *Outbound) check(r *report) {
	if o.AllowLocal {
		if len(o.PrivateNetworks) > 0 {
			r.warn("OAUTH2_ALLOW_LOCAL_OUTBOUND=1: clients may register URLs that make the server call the loopback and link-local addresses of OAUTH2_OUTBOUND_PRIVATE_NETWORKS")
		}
		return
	}
	for _, n := range o.PrivateNetworks {
		for _, l := range localNetworks {
			if n.Overlaps(l.prefix) {
				r.bad("OAUTH2_OUTBOUND_PRIVATE_NETWORKS: %s includes %s (%s): clients could register URLs that make the server call it; name narrower networks, or set OAUTH2_ALLOW_LOCAL_OUTBOUND=1 to accept it", showNetwork(n), l.prefix, l.what)
				break
			}
		}
	}
}

// showNetwork writes a network as the operator likely wrote it: a single
// address without its prefix length.
func showNetwork(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// check refuses sinks it does not know and sinks without what they need.
func (e *Events) check(r *report, redisURL string, dev bool) {
	for _, sink := range e.Sinks {
		switch sink {
		case "none", "log":
		case "redis":
			if redisURL == "" {
				r.bad("the redis event sink needs OAUTH2_REDIS_URL")
			}
		case "nats":
			if e.NATSURL == "" {
				r.bad("the nats event sink needs OAUTH2_NATS_URL")
			}
		case "webhook":
			if !strings.HasPrefix(e.WebhookURL, "https://") && !(dev && strings.HasPrefix(e.WebhookURL, "http://")) {
				r.bad("the webhook event sink needs an https OAUTH2_EVENT_WEBHOOK_URL")
			}
			if len(e.WebhookSecret) < 16 {
				r.bad("the webhook event sink needs OAUTH2_EVENT_WEBHOOK_SECRET of at least 16 characters: the receiver tells the server's deliveries from forgeries by it")
			}
		default:
			r.bad("event sink %q: want log, redis, nats, webhook or none", sink)
		}
	}
}

// check refuses a notifier it does not know and a webhook notifier
// without a sound URL and secret; no notifier is none.
func (n *CIBA) check(r *report, dev bool) {
	if n.Notifier == "" {
		n.Notifier = "none"
	}
	switch n.Notifier {
	case "log", "none":
		if n.WebhookURL != "" || n.WebhookSecret != "" {
			r.warn("OAUTH2_CIBA_WEBHOOK_URL and OAUTH2_CIBA_WEBHOOK_SECRET are ignored unless OAUTH2_CIBA_NOTIFIER=webhook")
		}
	case "webhook":
		u, err := url.Parse(n.WebhookURL)
		switch {
		case n.WebhookURL == "":
			r.bad("the CIBA webhook notifier needs OAUTH2_CIBA_WEBHOOK_URL")
		case err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http"):
			r.bad("OAUTH2_CIBA_WEBHOOK_URL must be an absolute https URL without credentials")
		case u.Scheme == "http" && !isLoopbackHost(u.Hostname()) && !dev:
			r.bad("OAUTH2_CIBA_WEBHOOK_URL must use https unless it is a loopback address")
		}
		if len(n.WebhookSecret) < 16 {
			r.bad("the CIBA webhook notifier needs OAUTH2_CIBA_WEBHOOK_SECRET of at least 16 characters: the authentication device tells the server's notices from forgeries by it")
		}
	default:
		r.bad("OAUTH2_CIBA_NOTIFIER %q: want log, webhook or none", n.Notifier)
	}
}

// check validates the TLS listener and the sources of client
// certificates, and fills in the header format.
func (t *TLS) check(r *report, s Server) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		r.bad("OAUTH2_TLS_CERT_FILE and OAUTH2_TLS_KEY_FILE go together")
	}
	if t.CertFile != "" && s.issuerScheme() == "http" {
		r.bad("OAUTH2_ISSUER %q must use https when the server serves TLS (OAUTH2_TLS_CERT_FILE)", s.Issuer)
	}
	if t.ClientCertHeader != "" {
		t.checkHeader(r, len(s.TrustedProxies) > 0)
	} else if t.ClientCertHeaderFormat != "" {
		r.bad("OAUTH2_CLIENT_CERT_HEADER_FORMAT needs OAUTH2_CLIENT_CERT_HEADER")
	}
	switch t.ClientCertHeaderFormat {
	case "", "pem", "rfc9440", "xfcc":
	default:
		r.bad("OAUTH2_CLIENT_CERT_HEADER_FORMAT %q: want pem, rfc9440 or xfcc", t.ClientCertHeaderFormat)
	}
	if t.ClientCAFile != "" && !t.ClientCertificates() {
		r.bad("OAUTH2_TLS_CLIENT_CA_FILE needs a source of client certificates: OAUTH2_TLS_CERT_FILE with OAUTH2_TLS_CLIENT_CERTS, or OAUTH2_CLIENT_CERT_HEADER")
	}
}

// checkHeader validates a proxy's client certificate header and fills in
// its format from its name.
func (t *TLS) checkHeader(r *report, trustedProxies bool) {
	if !validHeaderName(t.ClientCertHeader) {
		r.bad("OAUTH2_CLIENT_CERT_HEADER %q must be an HTTP header name, and not one the server reads for itself", t.ClientCertHeader)
	}
	// Anyone can send a header; it means something only from a proxy
	// that sets it for every request.
	if !trustedProxies {
		r.bad("OAUTH2_CLIENT_CERT_HEADER needs OAUTH2_TRUSTED_PROXIES: the header is believed only from the proxies listed there")
	}
	if t.ClientCertHeaderFormat != "" {
		return
	}
	switch strings.ToLower(t.ClientCertHeader) {
	case "client-cert":
		t.ClientCertHeaderFormat = "rfc9440"
	case "x-forwarded-client-cert":
		t.ClientCertHeaderFormat = "xfcc"
	default:
		t.ClientCertHeaderFormat = "pem"
	}
}

// check keeps the profiling listener apart from the server's.
func (t *Telemetry) check(r *report, addr string) {
	if t.DebugAddr == "" {
		return
	}
	if _, _, err := net.SplitHostPort(t.DebugAddr); err != nil {
		r.bad("OAUTH2_DEBUG_ADDR %q must be host:port", t.DebugAddr)
	} else if t.DebugAddr == addr {
		r.bad("OAUTH2_DEBUG_ADDR must differ from OAUTH2_ADDR")
	}
}

// validHeaderName accepts an RFC 9110 §5.1 field name that is not one
// of the headers that carry a request's own credentials or addresses.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(name[i])) &&
			!(name[i] >= '0' && name[i] <= '9' || name[i] >= 'a' && name[i] <= 'z' || name[i] >= 'A' && name[i] <= 'Z') {
			return false
		}
	}
	switch strings.ToLower(name) {
	case "authorization", "cookie", "dpop", "host", "content-type", "content-length", "x-forwarded-for", "x-request-id":
		return false
	}
	return true
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
