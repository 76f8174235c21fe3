package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Config is every setting of the server. YAML keys mirror the OAUTH2_*
// environment variables (OAUTH2_DATABASE_URL <-> database_url).
type Config struct {
	// Addr is the listen address.
	Addr string `yaml:"addr"`
	// Issuer is the public base URL, the iss of every token.
	Issuer string `yaml:"issuer"`
	// AllowInsecureIssuer accepts a plain-http issuer on a host that is not
	// loopback outside dev mode, for a closed test network: tokens, codes
	// and cookies then cross it in clear text.
	AllowInsecureIssuer bool `yaml:"allow_insecure_issuer"`
	// DatabaseURL picks the store: sqlite:PATH, postgres://... or mongodb://...
	DatabaseURL string `yaml:"database_url"`
	// Dev turns on dev mode: defaults for a laptop, seeded demo data, and
	// relaxed refusals.
	Dev bool `yaml:"dev"`
	// SeedUsername and SeedPassword name a user created at start if absent.
	SeedUsername string `yaml:"seed_username"`
	SeedPassword string `yaml:"seed_password"`
	// RegistrationToken is the initial access token for dynamic client
	// registration; registration is off without one (outside dev mode).
	RegistrationToken string `yaml:"registration_token"`
	// RedisURL is reserved for shared rate limits and caches.
	RedisURL string `yaml:"redis_url"`
	// KeyEncryptionKey is 32 random bytes, base64, sealing the signing keys
	// at rest and keying cookie signatures and client-secret hashes.
	KeyEncryptionKey string `yaml:"key_encryption_key"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ScopeAllowList, when set, limits the scopes clients may register.
	ScopeAllowList []string `yaml:"scope_allowlist"`
	// RequirePAR makes every client push its authorization requests
	// (RFC 9126).
	RequirePAR bool `yaml:"require_par"`
	// DPoPNonce makes every DPoP proof carry a nonce the server issued
	// (RFC 9449 §8, §9): proofs cannot be made ahead of time, at the cost
	// of one more round trip when a client's nonce has expired.
	DPoPNonce bool `yaml:"dpop_nonce"`
	// TrustedIssuers are the issuers whose JWTs the JWT bearer grant
	// (RFC 7523 §2.1) accepts; OAUTH2_TRUSTED_ISSUERS takes them as a JSON
	// array.
	TrustedIssuers []TrustedIssuer `yaml:"trusted_issuers"`
	// TLSCertFile and TLSKeyFile, together, make the server serve HTTPS
	// itself: a PEM certificate chain and its private key, read again on
	// SIGHUP.
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSClientCerts makes the server's TLS listener ask clients for a
	// certificate (RFC 8705), on by default with TLS. The handshake takes
	// any certificate; the OAuth layer decides what it is good for.
	TLSClientCerts bool `yaml:"tls_client_certs"`
	// TLSClientCAFile holds the PEM CA certificates that the certificates
	// of tls_client_auth clients must chain to, whether they come from
	// the TLS listener or a proxy; that method is off without it.
	TLSClientCAFile string `yaml:"tls_client_ca_file"`
	// ClientCertHeader names the header in which a TLS-terminating proxy
	// at one of TrustedProxies forwards the client's certificate;
	// ClientCertHeaderFormat says how: pem (URL-encoded, as nginx's
	// $ssl_client_escaped_cert), rfc9440 (Client-Cert) or xfcc (Envoy's
	// X-Forwarded-Client-Cert). The format follows from those header
	// names when unset, pem otherwise.
	ClientCertHeader       string `yaml:"client_cert_header"`
	ClientCertHeaderFormat string `yaml:"client_cert_header_format"`
	// RequestURIHosts are the hosts ("name" for port 443, or "name:port")
	// from which client-hosted request objects (RFC 9101 request_uri) are
	// fetched; none are fetched without it. A name that resolves to a
	// loopback, private or link-local address is refused; IP literals
	// listed here are reached as written.
	RequestURIHosts []string `yaml:"request_uri_hosts"`
	// OutboundPrivateNetworks are the CIDRs (or single IPs) of non-public
	// addresses the server may connect to when it calls a URL a client
	// registered: jwks_uri, backchannel_logout_uri and
	// backchannel_client_notification_endpoint. Every other loopback,
	// private, link-local or reserved address is refused, whatever name
	// leads to it. Loopback in dev mode when unset.
	OutboundPrivateNetworks []string `yaml:"outbound_private_networks"`
	// AllowLocalOutbound accepts, outside dev mode, OutboundPrivateNetworks
	// that reach the server's own host (loopback), link-local addresses
	// (cloud metadata services among them) or "this network": registrants
	// could then make the server call them.
	AllowLocalOutbound bool `yaml:"allow_local_outbound"`
	// AuthorizationDetailsTypes are the RFC 9396 authorization details
	// types the server accepts (payment_initiation, ...); without any,
	// authorization_details is refused and not advertised.
	AuthorizationDetailsTypes []string `yaml:"authorization_details_types"`

	// AccessTokenAlg signs JWT access tokens: ES256 (the default), EdDSA,
	// PS256 or RS256.
	AccessTokenAlg  string        `yaml:"access_token_alg"`
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	IDTokenTTL      time.Duration `yaml:"id_token_ttl"`
	CodeTTL         time.Duration `yaml:"code_ttl"`
	SessionTTL      time.Duration `yaml:"session_ttl"`

	// KeyRotationInterval rotates signing keys automatically; 0 turns it
	// off.
	KeyRotationInterval time.Duration `yaml:"key_rotation_interval"`
	// KeyPropagationDelay is how long a new signing key is published before
	// it signs; the JWKS cache lifetime follows it.
	KeyPropagationDelay time.Duration `yaml:"key_propagation_delay"`
	// KeyGracePeriod is how long a replaced key stays published after it
	// stopped signing.
	KeyGracePeriod time.Duration `yaml:"key_grace_period"`
	// AdminToken guards /admin/api and signs the operator in to the admin
	// UI at /admin; both are off without one.
	AdminToken string `yaml:"admin_token"`

	// RateLimit turns rate limiting on (the default, dev mode included) or
	// off.
	RateLimit bool `yaml:"rate_limit"`
	// Per-group budgets as "COUNT/PERIOD:BURST" (for example "50/s:100");
	// empty keeps the default.
	RateLimitToken        string `yaml:"rate_limit_token"`
	RateLimitUserinfo     string `yaml:"rate_limit_userinfo"`
	RateLimitInteractive  string `yaml:"rate_limit_interactive"`
	RateLimitRegistration string `yaml:"rate_limit_registration"`
	RateLimitFailures     string `yaml:"rate_limit_failures"`
	// RateLimitRedisFailure is what the Redis limiter does while Redis is
	// unreachable: "local" (per-replica limits), "open" or "closed".
	RateLimitRedisFailure string `yaml:"rate_limit_redis_failure"`

	// OTLPEndpoint is the OTLP/HTTP traces endpoint
	// (http://collector:4318); traces are not exported without one.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// EventSinks lists where domain events go: log, redis (needs
	// OAUTH2_REDIS_URL), nats, webhook; "none" for nowhere.
	EventSinks []string `yaml:"event_sinks"`
	// NATSURL is the NATS server of the nats event sink.
	NATSURL string `yaml:"nats_url"`
	// EventWebhookURL and EventWebhookSecret configure the webhook sink;
	// deliveries carry an HMAC-SHA256 signature under the secret.
	EventWebhookURL    string `yaml:"event_webhook_url"`
	EventWebhookSecret string `yaml:"event_webhook_secret"`

	// CIBANotifier is how a user's authentication device learns of a
	// backchannel authentication request (OpenID Connect CIBA): "log" (a
	// log line, the default in dev mode), "webhook", or "none" (CIBA off,
	// the default outside dev mode).
	CIBANotifier string `yaml:"ciba_notifier"`
	// CIBAWebhookURL and CIBAWebhookSecret configure the webhook notifier;
	// each notice carries an HMAC-SHA256 signature under the secret.
	CIBAWebhookURL    string `yaml:"ciba_webhook_url"`
	CIBAWebhookSecret string `yaml:"ciba_webhook_secret"`

	// JanitorInterval is how often expired codes, tokens, sessions and
	// other single-use records are deleted.
	JanitorInterval time.Duration `yaml:"janitor_interval"`

	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DBMaxConns and DBMinConns size the PostgreSQL pool.
	DBMaxConns int `yaml:"db_max_conns"`
	DBMinConns int `yaml:"db_min_conns"`
	// DBStatementTimeout bounds each PostgreSQL statement.
	DBStatementTimeout time.Duration `yaml:"db_statement_timeout"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// DebugAddr, when set, serves Go's runtime profiles (net/http/pprof)
	// on a listener of its own, never on Addr.
	DebugAddr string `yaml:"debug_addr"`
	// ShutdownDrain is how long the server keeps serving after SIGTERM
	// with /ready answering 503, so that load balancers stop sending
	// before the listener closes. 0 closes it at once (dev mode's
	// default).
	ShutdownDrain time.Duration `yaml:"shutdown_drain"`

	// Warnings collects what Load relaxed or guessed, for the log.
	Warnings []string `yaml:"-"`
	// kek is KeyEncryptionKey decoded, or the dev-mode derived key.
	kek []byte
}

// TrustedIssuer is one issuer of JWT bearer grants: its keys, inline or at
// an https URL, and optionally the clients allowed to present its JWTs.
type TrustedIssuer struct {
	Issuer  string   `yaml:"issuer" json:"issuer"`
	JWKS    string   `yaml:"jwks" json:"jwks"`
	JWKSURI string   `yaml:"jwks_uri" json:"jwks_uri"`
	Clients []string `yaml:"clients" json:"clients"`
}

// Dev-mode defaults, printed at start so a new user can sign in.
const (
	DevIssuer       = "http://localhost:8080"
	DevTLSIssuer    = "https://localhost:8080"
	DevAddr         = "localhost:8080"
	DevDatabaseURL  = "sqlite:./data/oauth2.db"
	DevSeedUsername = "demo"
	DevSeedPassword = "demo-password"
)

// DevOutboundPrivateNetworks lets dev mode call relying parties on the
// same machine.
var DevOutboundPrivateNetworks = []string{"127.0.0.0/8", "::1/128"}

// ParseNetworks parses CIDRs and single IPs (as the network of that
// address alone), as OutboundPrivateNetworks and TrustedProxies hold them.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range list {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(n)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is neither an IP nor a CIDR", n)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Defaults returns the settings before any file or environment.
func Defaults() Config {
	return Config{
		Addr:                  ":8080",
		DatabaseURL:           DevDatabaseURL,
		AccessTokenAlg:        "ES256",
		AccessTokenTTL:        time.Hour,
		RefreshTokenTTL:       30 * 24 * time.Hour,
		IDTokenTTL:            time.Hour,
		CodeTTL:               time.Minute,
		SessionTTL:            24 * time.Hour,
		KeyRotationInterval:   90 * 24 * time.Hour,
		KeyPropagationDelay:   time.Hour,
		KeyGracePeriod:        24 * time.Hour,
		TLSClientCerts:        true,
		MaxBodyBytes:          1 << 20,
		RateLimit:             true,
		JanitorInterval:       time.Minute,
		EventSinks:            []string{"log"},
		RateLimitRedisFailure: "local",
		DBMaxConns:            20,
		DBMinConns:            2,
		DBStatementTimeout:    5 * time.Second,
		LogLevel:              "info",
		ShutdownDrain:         DefaultShutdownDrain,
	}
}

// DefaultShutdownDrain is the drain outside dev mode: a readiness probe
// every few seconds sees /ready fail within it.
const DefaultShutdownDrain = 5 * time.Second

// maxShutdownDrain bounds the drain: a longer one holds every rollout,
// and is more likely a unit typed wrong than a wish.
const maxShutdownDrain = 5 * time.Minute

// Load builds the configuration: defaults, then the YAML file named by
// file or OAUTH2_CONFIG (if any), then OAUTH2_* variables from getenv, then
// dev (the --dev flag), then validation.
func Load(file string, dev bool, getenv func(string) string) (*Config, error) {
	c := Defaults()
	if file == "" {
		file = getenv("OAUTH2_CONFIG")
	}
	if file != "" {
		b, err := os.ReadFile(file) // #nosec G304 -- the operator names the configuration file (--config, OAUTH2_CONFIG)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("config: %s: %w", file, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return nil, err
	}
	if dev {
		c.Dev = true
	}
	if err := c.finish(getenv); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) applyEnv(getenv func(string) string) error {
	str := map[string]*string{
		"OAUTH2_ADDR": &c.Addr, "OAUTH2_ISSUER": &c.Issuer, "OAUTH2_DATABASE_URL": &c.DatabaseURL,
		"OAUTH2_SEED_USERNAME": &c.SeedUsername, "OAUTH2_SEED_PASSWORD": &c.SeedPassword,
		"OAUTH2_REGISTRATION_TOKEN": &c.RegistrationToken, "OAUTH2_REDIS_URL": &c.RedisURL,
		"OAUTH2_KEY_ENCRYPTION_KEY": &c.KeyEncryptionKey, "OAUTH2_LOG_LEVEL": &c.LogLevel,
		"OAUTH2_ADMIN_TOKEN": &c.AdminToken, "OAUTH2_NATS_URL": &c.NATSURL, "OAUTH2_OTLP_ENDPOINT": &c.OTLPEndpoint,
		"OAUTH2_DEBUG_ADDR":    &c.DebugAddr,
		"OAUTH2_TLS_CERT_FILE": &c.TLSCertFile, "OAUTH2_TLS_KEY_FILE": &c.TLSKeyFile, "OAUTH2_TLS_CLIENT_CA_FILE": &c.TLSClientCAFile,
		"OAUTH2_CLIENT_CERT_HEADER": &c.ClientCertHeader, "OAUTH2_CLIENT_CERT_HEADER_FORMAT": &c.ClientCertHeaderFormat,
		"OAUTH2_EVENT_WEBHOOK_URL": &c.EventWebhookURL, "OAUTH2_EVENT_WEBHOOK_SECRET": &c.EventWebhookSecret,
		"OAUTH2_CIBA_NOTIFIER": &c.CIBANotifier, "OAUTH2_CIBA_WEBHOOK_URL": &c.CIBAWebhookURL, "OAUTH2_CIBA_WEBHOOK_SECRET": &c.CIBAWebhookSecret,
		"OAUTH2_RATE_LIMIT_TOKEN": &c.RateLimitToken, "OAUTH2_RATE_LIMIT_USERINFO": &c.RateLimitUserinfo,
		"OAUTH2_RATE_LIMIT_INTERACTIVE": &c.RateLimitInteractive, "OAUTH2_RATE_LIMIT_REGISTRATION": &c.RateLimitRegistration,
		"OAUTH2_ACCESS_TOKEN_ALG":    &c.AccessTokenAlg,
		"OAUTH2_RATE_LIMIT_FAILURES": &c.RateLimitFailures, "OAUTH2_RATE_LIMIT_REDIS_FAILURE": &c.RateLimitRedisFailure,
	}
	for k, p := range str {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	lists := map[string]*[]string{"OAUTH2_TRUSTED_PROXIES": &c.TrustedProxies, "OAUTH2_SCOPE_ALLOWLIST": &c.ScopeAllowList,
		"OAUTH2_EVENT_SINKS": &c.EventSinks, "OAUTH2_REQUEST_URI_HOSTS": &c.RequestURIHosts,
		"OAUTH2_OUTBOUND_PRIVATE_NETWORKS":   &c.OutboundPrivateNetworks,
		"OAUTH2_AUTHORIZATION_DETAILS_TYPES": &c.AuthorizationDetailsTypes}
	for k, p := range lists {
		if v := getenv(k); v != "" {
			*p = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
		}
	}
	durs := map[string]*time.Duration{
		"OAUTH2_ACCESS_TOKEN_TTL": &c.AccessTokenTTL, "OAUTH2_REFRESH_TOKEN_TTL": &c.RefreshTokenTTL,
		"OAUTH2_ID_TOKEN_TTL": &c.IDTokenTTL, "OAUTH2_CODE_TTL": &c.CodeTTL,
		"OAUTH2_SESSION_TTL": &c.SessionTTL, "OAUTH2_DB_STATEMENT_TIMEOUT": &c.DBStatementTimeout,
		"OAUTH2_KEY_ROTATION_INTERVAL": &c.KeyRotationInterval, "OAUTH2_KEY_PROPAGATION_DELAY": &c.KeyPropagationDelay,
		"OAUTH2_KEY_GRACE_PERIOD": &c.KeyGracePeriod, "OAUTH2_JANITOR_INTERVAL": &c.JanitorInterval,
		"OAUTH2_SHUTDOWN_DRAIN": &c.ShutdownDrain,
	}
	for k, p := range durs {
		if v := getenv(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("config: %s=%q: want a duration such as 15m or 1h", k, v)
			}
			*p = d
		}
	}
	ints := map[string]*int{"OAUTH2_DB_MAX_CONNS": &c.DBMaxConns, "OAUTH2_DB_MIN_CONNS": &c.DBMinConns}
	for k, p := range ints {
		if v := getenv(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("config: %s=%q: want a whole number", k, v)
			}
			*p = n
		}
	}
	if v := getenv("OAUTH2_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("config: OAUTH2_MAX_BODY_BYTES=%q: want a number of bytes", v)
		}
		c.MaxBodyBytes = n
	}
	if v := getenv("OAUTH2_TRUSTED_ISSUERS"); v != "" {
		if err := json.Unmarshal([]byte(v), &c.TrustedIssuers); err != nil {
			return fmt.Errorf("config: OAUTH2_TRUSTED_ISSUERS: want a JSON array of {issuer, jwks or jwks_uri, clients}: %v", err)
		}
	}
	if v := getenv("OAUTH2_REQUIRE_PAR"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: OAUTH2_REQUIRE_PAR=%q: want 1 or 0", v)
		}
		c.RequirePAR = b
	}
	if v := getenv("OAUTH2_TLS_CLIENT_CERTS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: OAUTH2_TLS_CLIENT_CERTS=%q: want 1 or 0", v)
		}
		c.TLSClientCerts = b
	}
	if v := getenv("OAUTH2_DPOP_NONCE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: OAUTH2_DPOP_NONCE=%q: want 1 or 0", v)
		}
		c.DPoPNonce = b
	}
	for k, p := range map[string]*bool{"OAUTH2_ALLOW_INSECURE_ISSUER": &c.AllowInsecureIssuer, "OAUTH2_ALLOW_LOCAL_OUTBOUND": &c.AllowLocalOutbound} {
		if v := getenv(k); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("config: %s=%q: want 1 or 0", k, v)
			}
			*p = b
		}
	}
	if v := getenv("OAUTH2_RATE_LIMIT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: OAUTH2_RATE_LIMIT=%q: want 1 or 0", v)
		}
		c.RateLimit = b
	}
	if v := getenv("OAUTH2_DEV"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: OAUTH2_DEV=%q: want 1 or 0", v)
		}
		c.Dev = b
	}
	return nil
}

// finish fills dev-mode defaults and validates.
func (c *Config) finish(getenv func(string) string) error {
	if c.Dev {
		if c.Issuer == "" {
			c.Issuer = DevIssuer
			if c.TLSCertFile != "" {
				c.Issuer = DevTLSIssuer
			}
		}
		if getenv("OAUTH2_ADDR") == "" && c.Addr == Defaults().Addr {
			c.Addr = DevAddr
		}
		// Nothing balances load in front of a laptop: Ctrl-C stops at once.
		if getenv("OAUTH2_SHUTDOWN_DRAIN") == "" && c.ShutdownDrain == DefaultShutdownDrain {
			c.ShutdownDrain = 0
		}
		if c.SeedUsername == "" {
			c.SeedUsername = DevSeedUsername
		}
		if c.SeedPassword == "" {
			c.SeedPassword = DevSeedPassword
		}
		if c.CIBANotifier == "" {
			c.CIBANotifier = "log"
		}
		if c.OutboundPrivateNetworks == nil {
			c.OutboundPrivateNetworks = slices.Clone(DevOutboundPrivateNetworks)
		}
	}
	if c.CIBANotifier == "" {
		c.CIBANotifier = "none"
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if c.Issuer == "" {
		bad("OAUTH2_ISSUER is required (for example https://id.example.com)")
	} else if u, err := url.Parse(c.Issuer); err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		// RFC 8414 §2: an https URL with no query or fragment.
		bad("OAUTH2_ISSUER %q must be an absolute URL without query or fragment", c.Issuer)
	} else if u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) && !c.Dev {
		// A loopback issuer is reached from this host alone; any other
		// carries codes, tokens and session cookies across a network.
		switch {
		case u.Scheme != "http":
			bad("OAUTH2_ISSUER %q must use https", c.Issuer)
		case c.AllowInsecureIssuer:
			c.Warnings = append(c.Warnings, fmt.Sprintf("OAUTH2_ISSUER %q is plain http (OAUTH2_ALLOW_INSECURE_ISSUER=1): codes, tokens and session cookies cross the network in clear text", c.Issuer))
		default:
			bad("OAUTH2_ISSUER %q must use https unless it is a loopback address: codes, tokens and session cookies would cross the network in clear text (OAUTH2_ALLOW_INSECURE_ISSUER=1 accepts it, for a closed test network)", c.Issuer)
		}
	}
	if _, err := c.StoreKind(); err != nil {
		bad("%v", err)
	}
	if c.KeyEncryptionKey != "" {
		k, err := base64.StdEncoding.DecodeString(c.KeyEncryptionKey)
		if err != nil {
			k, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(c.KeyEncryptionKey, "="))
		}
		if err != nil || len(k) != 32 {
			bad("OAUTH2_KEY_ENCRYPTION_KEY must be 32 random bytes, base64 encoded (openssl rand -base64 32): it seals the signing keys and keys cookie signatures")
		} else {
			c.kek = k
		}
	} else if c.Dev {
		c.kek = devKey(c.DatabaseURL)
		c.Warnings = append(c.Warnings, "OAUTH2_KEY_ENCRYPTION_KEY is not set: dev mode derived a fixed key from the database location. Anyone can derive it; never use it for real users.")
	} else {
		bad("OAUTH2_KEY_ENCRYPTION_KEY is required outside dev mode: it seals the signing keys and keys cookie signatures (32 random bytes, base64: openssl rand -base64 32)")
	}
	if (c.SeedUsername == "") != (c.SeedPassword == "") {
		bad("OAUTH2_SEED_USERNAME and OAUTH2_SEED_PASSWORD go together")
	}
	if !c.Dev {
		c.checkSecrets(bad)
		c.checkOutboundNetworks(bad)
	} else if c.AllowLocalOutbound || c.AllowInsecureIssuer {
		c.Warnings = append(c.Warnings, "OAUTH2_ALLOW_INSECURE_ISSUER and OAUTH2_ALLOW_LOCAL_OUTBOUND change nothing in dev mode, which allows both")
	}
	for _, ti := range c.TrustedIssuers {
		if ti.Issuer == "" || (ti.JWKS == "") == (ti.JWKSURI == "") {
			bad("trusted issuer %q needs an issuer and exactly one of jwks and jwks_uri", ti.Issuer)
		} else if ti.JWKSURI != "" && !strings.HasPrefix(ti.JWKSURI, "https://") {
			bad("trusted issuer %q: jwks_uri must be https", ti.Issuer)
		}
	}
	for i, t := range c.AuthorizationDetailsTypes {
		switch {
		case t == "" || len(t) > 256 || strings.ContainsFunc(t, unicode.IsControl):
			bad("authorization_details_types: %q must be 1 to 256 printable characters", t)
		case slices.Contains(c.AuthorizationDetailsTypes[:i], t):
			bad("authorization_details_types: %q is listed twice", t)
		}
	}
	for name, v := range map[string]string{"rate_limit_token": c.RateLimitToken, "rate_limit_userinfo": c.RateLimitUserinfo,
		"rate_limit_interactive": c.RateLimitInteractive, "rate_limit_registration": c.RateLimitRegistration,
		"rate_limit_failures": c.RateLimitFailures} {
		if v == "" {
			continue
		}
		if _, err := ParseRate(v); err != nil {
			bad("%s: %v", name, err)
		}
	}
	for _, sink := range c.EventSinks {
		switch sink {
		case "none", "log":
		case "redis":
			if c.RedisURL == "" {
				bad("the redis event sink needs OAUTH2_REDIS_URL")
			}
		case "nats":
			if c.NATSURL == "" {
				bad("the nats event sink needs OAUTH2_NATS_URL")
			}
		case "webhook":
			if !strings.HasPrefix(c.EventWebhookURL, "https://") && !(c.Dev && strings.HasPrefix(c.EventWebhookURL, "http://")) {
				bad("the webhook event sink needs an https OAUTH2_EVENT_WEBHOOK_URL")
			}
			if len(c.EventWebhookSecret) < 16 {
				bad("the webhook event sink needs OAUTH2_EVENT_WEBHOOK_SECRET of at least 16 characters: the receiver tells the server's deliveries from forgeries by it")
			}
		default:
			bad("event sink %q: want log, redis, nats, webhook or none", sink)
		}
	}
	switch c.CIBANotifier {
	case "log", "none":
		if c.CIBAWebhookURL != "" || c.CIBAWebhookSecret != "" {
			c.Warnings = append(c.Warnings, "OAUTH2_CIBA_WEBHOOK_URL and OAUTH2_CIBA_WEBHOOK_SECRET are ignored unless OAUTH2_CIBA_NOTIFIER=webhook")
		}
	case "webhook":
		u, err := url.Parse(c.CIBAWebhookURL)
		switch {
		case c.CIBAWebhookURL == "":
			bad("the CIBA webhook notifier needs OAUTH2_CIBA_WEBHOOK_URL")
		case err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http"):
			bad("OAUTH2_CIBA_WEBHOOK_URL must be an absolute https URL without credentials")
		case u.Scheme == "http" && !isLoopbackHost(u.Hostname()) && !c.Dev:
			bad("OAUTH2_CIBA_WEBHOOK_URL must use https unless it is a loopback address")
		}
		if len(c.CIBAWebhookSecret) < 16 {
			bad("the CIBA webhook notifier needs OAUTH2_CIBA_WEBHOOK_SECRET of at least 16 characters: the authentication device tells the server's notices from forgeries by it")
		}
	default:
		bad("OAUTH2_CIBA_NOTIFIER %q: want log, webhook or none", c.CIBANotifier)
	}
	switch c.RateLimitRedisFailure {
	case "local", "open", "closed":
	default:
		bad("rate_limit_redis_failure must be local, open or closed")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad("OAUTH2_REDIS_URL must be a redis:// or rediss:// URL")
	}
	for i, h := range c.RequestURIHosts {
		norm, ok := requestURIHost(h)
		if !ok {
			bad("request_uri_hosts: %q must be a host name or IP address, optionally with :port, and nothing else", h)
			continue
		}
		c.RequestURIHosts[i] = norm
	}
	c.checkTLS(bad)
	for _, n := range c.OutboundPrivateNetworks {
		if _, err := ParseNetworks([]string{n}); err != nil {
			bad("outbound_private_networks: %v", err)
		}
	}
	for _, n := range c.TrustedProxies {
		if _, err := ParseNetworks([]string{n}); err != nil {
			bad("trusted proxy %v", err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"access_token_ttl", c.AccessTokenTTL}, {"refresh_token_ttl", c.RefreshTokenTTL}, {"id_token_ttl", c.IDTokenTTL},
		{"code_ttl", c.CodeTTL}, {"session_ttl", c.SessionTTL}} {
		if d.v <= 0 {
			bad("%s must be positive", d.name)
		}
	}
	if c.KeyRotationInterval < 0 || c.KeyPropagationDelay < 0 {
		bad("key_rotation_interval and key_propagation_delay must not be negative")
	}
	// A replaced key must verify every token it signed until they expire.
	if c.KeyGracePeriod < max(c.AccessTokenTTL, c.IDTokenTTL) {
		bad("key_grace_period must be at least the access and ID token lifetimes")
	}
	if c.KeyRotationInterval > 0 && c.KeyRotationInterval <= c.KeyPropagationDelay {
		bad("key_rotation_interval must be longer than key_propagation_delay")
	}
	if c.JanitorInterval < time.Second {
		bad("janitor_interval must be at least 1s")
	}
	if c.CodeTTL > 10*time.Minute {
		// RFC 6749 §4.1.2: a maximum code lifetime of 10 minutes is
		// recommended.
		bad("code_ttl must be at most 10m")
	}
	if c.ShutdownDrain < 0 || c.ShutdownDrain > maxShutdownDrain {
		bad("shutdown_drain must be between 0 and %s", maxShutdownDrain)
	}
	if c.MaxBodyBytes < 1024 {
		bad("max_body_bytes must be at least 1024")
	}
	if c.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugAddr); err != nil {
			bad("OAUTH2_DEBUG_ADDR %q must be host:port", c.DebugAddr)
		} else if c.DebugAddr == c.Addr {
			bad("OAUTH2_DEBUG_ADDR must differ from OAUTH2_ADDR")
		}
	}
	// The algorithms the signing key set holds a key of.
	switch c.AccessTokenAlg {
	case "ES256", "EdDSA", "PS256", "RS256":
	default:
		bad("access_token_alg must be ES256, EdDSA, PS256 or RS256")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level must be debug, info, warn or error")
	}
	if len(problems) > 0 {
		return errors.New("config: " + strings.Join(problems, "; "))
	}
	return nil
}

// checkSecrets refuses, outside dev mode, secrets short enough to guess and
// one secret used for two purposes. The key-encryption key and the webhook
// secrets are checked where they are read, in dev mode too.
func (c *Config) checkSecrets(bad func(format string, a ...any)) {
	if c.SeedPassword != "" && (c.SeedPassword == DevSeedPassword || len(c.SeedPassword) < 12) {
		bad("OAUTH2_SEED_PASSWORD must not be the dev default and must have at least 12 characters outside dev mode: it signs in a real user")
	}
	for _, s := range []struct{ name, value, grants string }{
		{"OAUTH2_REGISTRATION_TOKEN", c.RegistrationToken, "registers clients"},
		{"OAUTH2_ADMIN_TOKEN", c.AdminToken, "administers every client, user and key"},
	} {
		if s.value != "" && len(s.value) < minTokenLength {
			bad("%s must have at least %d characters outside dev mode: whoever guesses it %s (openssl rand -hex 24)", s.name, minTokenLength, s.grants)
		}
	}
	if c.AdminToken != "" && c.AdminToken == c.RegistrationToken {
		bad("OAUTH2_ADMIN_TOKEN must differ from OAUTH2_REGISTRATION_TOKEN: whoever may register a client would administer the server")
	}
	for _, s := range []struct{ name, value string }{
		{"OAUTH2_EVENT_WEBHOOK_SECRET", c.EventWebhookSecret},
		{"OAUTH2_CIBA_WEBHOOK_SECRET", c.CIBAWebhookSecret},
	} {
		if s.value != "" && (s.value == c.AdminToken || s.value == c.RegistrationToken) {
			bad("%s must differ from the registration and admin tokens: the receiver of a webhook would hold them", s.name)
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

// checkOutboundNetworks refuses, outside dev mode, outbound private
// networks that reach loopback, link-local or "this network" addresses
// without AllowLocalOutbound. Opening the private networks where relying
// parties live is an operator's ordinary choice and stays allowed; these
// lead to the server itself and to the cloud's credentials, which no
// relying party needs, and a network as wide as 0.0.0.0/0 contains them.
func (c *Config) checkOutboundNetworks(bad func(format string, a ...any)) {
	if c.AllowLocalOutbound {
		if len(c.OutboundPrivateNetworks) > 0 {
			c.Warnings = append(c.Warnings, "OAUTH2_ALLOW_LOCAL_OUTBOUND=1: clients may register URLs that make the server call the loopback and link-local addresses of OAUTH2_OUTBOUND_PRIVATE_NETWORKS")
		}
		return
	}
	for _, n := range c.OutboundPrivateNetworks {
		nets, err := ParseNetworks([]string{n})
		if err != nil {
			continue
		}
		for _, l := range localNetworks {
			if nets[0].Overlaps(l.prefix) {
				bad("OAUTH2_OUTBOUND_PRIVATE_NETWORKS: %s includes %s (%s): clients could register URLs that make the server call it; name narrower networks, or set OAUTH2_ALLOW_LOCAL_OUTBOUND=1 to accept it", n, l.prefix, l.what)
				break
			}
		}
	}
}

// checkTLS validates the TLS listener and the sources of client
// certificates, and fills in the header format.
func (c *Config) checkTLS(bad func(format string, a ...any)) {
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("OAUTH2_TLS_CERT_FILE and OAUTH2_TLS_KEY_FILE go together")
	}
	if c.TLSCertFile != "" && c.issuerScheme() == "http" {
		bad("OAUTH2_ISSUER %q must use https when the server serves TLS (OAUTH2_TLS_CERT_FILE)", c.Issuer)
	}
	if c.ClientCertHeader != "" {
		if !validHeaderName(c.ClientCertHeader) {
			bad("OAUTH2_CLIENT_CERT_HEADER %q must be an HTTP header name, and not one the server reads for itself", c.ClientCertHeader)
		}
		// Anyone can send a header; it means something only from a
		// proxy that sets it for every request.
		if len(c.TrustedProxies) == 0 {
			bad("OAUTH2_CLIENT_CERT_HEADER needs OAUTH2_TRUSTED_PROXIES: the header is believed only from the proxies listed there")
		}
		if c.ClientCertHeaderFormat == "" {
			switch strings.ToLower(c.ClientCertHeader) {
			case "client-cert":
				c.ClientCertHeaderFormat = "rfc9440"
			case "x-forwarded-client-cert":
				c.ClientCertHeaderFormat = "xfcc"
			default:
				c.ClientCertHeaderFormat = "pem"
			}
		}
	} else if c.ClientCertHeaderFormat != "" {
		bad("OAUTH2_CLIENT_CERT_HEADER_FORMAT needs OAUTH2_CLIENT_CERT_HEADER")
	}
	switch c.ClientCertHeaderFormat {
	case "", "pem", "rfc9440", "xfcc":
	default:
		bad("OAUTH2_CLIENT_CERT_HEADER_FORMAT %q: want pem, rfc9440 or xfcc", c.ClientCertHeaderFormat)
	}
	if c.TLSClientCAFile != "" && !c.ClientCertificates() {
		bad("OAUTH2_TLS_CLIENT_CA_FILE needs a source of client certificates: OAUTH2_TLS_CERT_FILE with OAUTH2_TLS_CLIENT_CERTS, or OAUTH2_CLIENT_CERT_HEADER")
	}
}

// HTTPSIssuer reports whether the issuer is an https URL, which makes
// cookies Secure and sends HSTS. The scheme is compared without regard to
// case (RFC 3986 §3.1), as browsers compare it: an issuer written
// HTTPS://... is served over TLS all the same.
func (c *Config) HTTPSIssuer() bool { return c.issuerScheme() == "https" }

// issuerScheme is the issuer's scheme in lower case, or "" if it does not
// parse.
func (c *Config) issuerScheme() string {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return ""
	}
	return u.Scheme
}

// ClientCertificates reports whether TLS client certificates reach the
// server: from its own TLS listener, or from a trusted proxy's header.
func (c *Config) ClientCertificates() bool {
	return c.TLSCertFile != "" && c.TLSClientCerts || c.ClientCertHeader != ""
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

// requestURIHost checks an entry of the request_uri host allow-list and
// returns it in lower case: a DNS name or an IP literal (IPv6 in brackets
// when a port follows), optionally with a port; no scheme, path, user or
// wildcard.
func requestURIHost(entry string) (string, bool) {
	entry = strings.ToLower(strings.TrimSpace(entry))
	host, port, err := net.SplitHostPort(entry)
	if err != nil {
		host, port = entry, ""
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", false
		}
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return entry, true
	}
	if host == "" || len(host) > 253 {
		return "", false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", false
			}
		}
	}
	return entry, true
}

// Store kinds, chosen by the scheme of DatabaseURL.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
	StoreMongo    = "mongo"
)

// StoreKind returns which store DatabaseURL selects.
func (c *Config) StoreKind() (string, error) {
	switch {
	case strings.HasPrefix(c.DatabaseURL, "sqlite:"):
		return StoreSQLite, nil
	case strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return StorePostgres, nil
	case strings.HasPrefix(c.DatabaseURL, "mongodb://"), strings.HasPrefix(c.DatabaseURL, "mongodb+srv://"):
		return StoreMongo, nil
	}
	return "", fmt.Errorf("OAUTH2_DATABASE_URL %q: want sqlite:PATH, postgres://HOST/DB or mongodb://HOST/DB", redactURL(c.DatabaseURL))
}

// Rate is a rate-limit budget: Count requests per Per, with bursts up to
// Burst.
type Rate struct {
	Count int
	Per   time.Duration
	Burst int
}

// ParseRate reads "COUNT/PERIOD:BURST", PERIOD being s, m, h or a Go
// duration ("50/s:100", "5/m:10", "20/10s:40"); without ":BURST" the burst
// is COUNT.
func ParseRate(s string) (Rate, error) {
	bad := fmt.Errorf("%q: want COUNT/PERIOD:BURST, for example 50/s:100", s)
	spec, burstText, hasBurst := strings.Cut(s, ":")
	countText, perText, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, bad
	}
	count, err := strconv.Atoi(countText)
	if err != nil || count <= 0 {
		return Rate{}, bad
	}
	var per time.Duration
	switch perText {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		if per, err = time.ParseDuration(perText); err != nil || per <= 0 {
			return Rate{}, bad
		}
	}
	burst := count
	if hasBurst {
		if burst, err = strconv.Atoi(burstText); err != nil || burst <= 0 {
			return Rate{}, bad
		}
	}
	return Rate{Count: count, Per: per, Burst: burst}, nil
}

// KEK returns the 32-byte key-encryption key.
func (c *Config) KEK() []byte { return c.kek }

// devKey derives dev mode's fixed key-encryption key from the database
// location, so restarts of one checkout keep reading their keys.
func devKey(databaseURL string) []byte {
	loc := databaseURL
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		if abs, err := filepath.Abs(path); err == nil {
			loc = "sqlite:" + abs
		}
	}
	sum := sha256.Sum256([]byte("oauth2-server dev key-encryption key|" + loc))
	return sum[:]
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// redactURL hides a password in a database URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// RedactedDatabaseURL is DatabaseURL with any password hidden, for logs.
func (c *Config) RedactedDatabaseURL() string { return redactURL(c.DatabaseURL) }
