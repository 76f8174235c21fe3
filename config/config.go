package config

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of the server, in sections. Each field names
// its environment variable; settings.go defines each setting once: its
// file key, default, checks and documentation.
type Config struct {
	Dev          bool // OAUTH2_DEV
	Server       Server
	Store        Store
	Keys         Keys
	Seed         Seed
	Registration Registration
	Admin        Admin
	TLS          TLS
	Tokens       Tokens
	Protocol     Protocol
	Outbound     Outbound
	Events       Events
	CIBA         CIBA
	Redis        Redis
	RateLimit    RateLimit
	Telemetry    Telemetry

	// Warnings collects what Load relaxed or guessed, for the log.
	Warnings []string
}

// Server is the listener and what every request passes.
type Server struct {
	Addr                string         // OAUTH2_ADDR
	Issuer              string         // OAUTH2_ISSUER, without a trailing slash
	AllowInsecureIssuer bool           // OAUTH2_ALLOW_INSECURE_ISSUER
	TrustedProxies      []netip.Prefix // OAUTH2_TRUSTED_PROXIES
	MaxBodyBytes        int64          // OAUTH2_MAX_BODY_BYTES
	ShutdownDrain       time.Duration  // OAUTH2_SHUTDOWN_DRAIN
}

// Store is the database and the deletion of what expired in it.
type Store struct {
	URL              string        // OAUTH2_DATABASE_URL
	MaxConns         int           // OAUTH2_DB_MAX_CONNS
	MinConns         int           // OAUTH2_DB_MIN_CONNS
	StatementTimeout time.Duration // OAUTH2_DB_STATEMENT_TIMEOUT
	JanitorInterval  time.Duration // OAUTH2_JANITOR_INTERVAL
}

// Keys are the key-encryption key and the signing keys' rotation.
type Keys struct {
	// EncryptionKey is OAUTH2_KEY_ENCRYPTION_KEY decoded, or dev mode's
	// derived key: 32 bytes.
	EncryptionKey    []byte
	RotationInterval time.Duration // OAUTH2_KEY_ROTATION_INTERVAL
	PropagationDelay time.Duration // OAUTH2_KEY_PROPAGATION_DELAY
	GracePeriod      time.Duration // OAUTH2_KEY_GRACE_PERIOD
}

// Seed names a user created at start if absent.
type Seed struct {
	Username string // OAUTH2_SEED_USERNAME
	Password string // OAUTH2_SEED_PASSWORD
}

// Registration is dynamic client registration.
type Registration struct {
	Token          string   // OAUTH2_REGISTRATION_TOKEN
	ScopeAllowList []string // OAUTH2_SCOPE_ALLOWLIST
}

// Admin is the admin API and UI.
type Admin struct {
	Token string // OAUTH2_ADMIN_TOKEN
}

// TLS is the server's own TLS listener and the sources of client
// certificates.
type TLS struct {
	CertFile               string // OAUTH2_TLS_CERT_FILE
	KeyFile                string // OAUTH2_TLS_KEY_FILE
	ClientCerts            bool   // OAUTH2_TLS_CLIENT_CERTS
	ClientCAFile           string // OAUTH2_TLS_CLIENT_CA_FILE
	ClientCertHeader       string // OAUTH2_CLIENT_CERT_HEADER
	ClientCertHeaderFormat string // OAUTH2_CLIENT_CERT_HEADER_FORMAT, filled in from the header name
}

// Tokens are the lifetimes of what the server issues and how access
// tokens are signed.
type Tokens struct {
	AccessTokenAlg  string        // OAUTH2_ACCESS_TOKEN_ALG
	AccessTokenTTL  time.Duration // OAUTH2_ACCESS_TOKEN_TTL
	RefreshTokenTTL time.Duration // OAUTH2_REFRESH_TOKEN_TTL
	IDTokenTTL      time.Duration // OAUTH2_ID_TOKEN_TTL
	CodeTTL         time.Duration // OAUTH2_CODE_TTL
	SessionTTL      time.Duration // OAUTH2_SESSION_TTL
}

// Protocol are the protocol features an operator chooses.
type Protocol struct {
	RequirePAR                bool            // OAUTH2_REQUIRE_PAR
	DPoPNonce                 bool            // OAUTH2_DPOP_NONCE
	AuthorizationDetailsTypes []string        // OAUTH2_AUTHORIZATION_DETAILS_TYPES
	TrustedIssuers            []TrustedIssuer // OAUTH2_TRUSTED_ISSUERS
	RequestURIHosts           []string        // OAUTH2_REQUEST_URI_HOSTS, in lower case
}

// Outbound is where the server may connect at URLs clients register.
type Outbound struct {
	PrivateNetworks []netip.Prefix // OAUTH2_OUTBOUND_PRIVATE_NETWORKS
	AllowLocal      bool           // OAUTH2_ALLOW_LOCAL_OUTBOUND
}

// Events is where domain events go.
type Events struct {
	Sinks         []string // OAUTH2_EVENT_SINKS
	NATSURL       string   // OAUTH2_NATS_URL
	WebhookURL    string   // OAUTH2_EVENT_WEBHOOK_URL
	WebhookSecret string   // OAUTH2_EVENT_WEBHOOK_SECRET
}

// CIBA is how users' authentication devices learn of backchannel
// authentication requests.
type CIBA struct {
	Notifier      string // OAUTH2_CIBA_NOTIFIER: log, webhook or none
	WebhookURL    string // OAUTH2_CIBA_WEBHOOK_URL
	WebhookSecret string // OAUTH2_CIBA_WEBHOOK_SECRET
}

// Redis is the Redis server shared by the replicas.
type Redis struct {
	URL string // OAUTH2_REDIS_URL
}

// RateLimit is the budgets of the route groups.
type RateLimit struct {
	Enabled      bool   // OAUTH2_RATE_LIMIT
	Token        Rate   // OAUTH2_RATE_LIMIT_TOKEN
	UserInfo     Rate   // OAUTH2_RATE_LIMIT_USERINFO
	Interactive  Rate   // OAUTH2_RATE_LIMIT_INTERACTIVE
	Registration Rate   // OAUTH2_RATE_LIMIT_REGISTRATION
	Failures     Rate   // OAUTH2_RATE_LIMIT_FAILURES
	RedisFailure string // OAUTH2_RATE_LIMIT_REDIS_FAILURE: local, open or closed
}

// Telemetry is logs, traces and profiles.
type Telemetry struct {
	LogLevel     slog.Level // OAUTH2_LOG_LEVEL
	OTLPEndpoint string     // OAUTH2_OTLP_ENDPOINT
	DebugAddr    string     // OAUTH2_DEBUG_ADDR
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
var DevOutboundPrivateNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// DefaultShutdownDrain is the drain outside dev mode: a readiness probe
// every few seconds sees /ready fail within it.
const DefaultShutdownDrain = 5 * time.Second

// Defaults returns the settings before any file or environment.
func Defaults() Config {
	var c Config
	for _, s := range settings {
		s.setDefault(&c)
	}
	return c
}

// Load builds the configuration: defaults, then the YAML file named by
// file or OAUTH2_CONFIG (if any), then OAUTH2_* variables from getenv, then
// dev (the --dev flag), then validation.
func Load(file string, dev bool, getenv func(string) string) (*Config, error) {
	c := Defaults()
	var r report
	if file == "" {
		file = getenv("OAUTH2_CONFIG")
	}
	if file != "" {
		if err := c.readFile(file, &r); err != nil {
			return nil, err
		}
	}
	fromEnv := c.readEnv(getenv, &r)
	if r.unreadable {
		return nil, r.err()
	}
	c.Dev = c.Dev || dev
	if c.Dev {
		for _, s := range settings {
			if !fromEnv[s.name()] {
				s.applyDev(&c)
			}
		}
	}
	c.validate(&r)
	if err := r.err(); err != nil {
		return nil, err
	}
	c.Warnings = r.warnings
	return &c, nil
}

// readFile reads the settings of a YAML file: a mapping of file keys. A
// file that cannot be read, or is not such a mapping, is an error at
// once; values are reported with the rest.
func (c *Config) readFile(file string, r *report) error {
	b, err := os.ReadFile(file) // #nosec G304 -- the operator names the configuration file (--config, OAUTH2_CONFIG)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(strings.NewReader(string(b))).Decode(&doc); err != nil {
		return fmt.Errorf("config: %s: %w", file, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config: %s: line %d: want a mapping of settings (database_url: ...)", file, root.Line)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		s, ok := byKey[k.Value]
		switch {
		case !ok:
			r.bad("%s: line %d: unknown setting %q", file, k.Line, k.Value)
			r.unreadable = true
		case seen[k.Value] > 0:
			r.bad("%s: line %d: %s is already set at line %d", file, k.Line, k.Value, seen[k.Value])
			r.unreadable = true
		default:
			seen[k.Value] = k.Line
			if err := s.readNode(c, v); err != nil {
				r.fileFailed(s, file, v, err)
			}
		}
	}
	return nil
}

// readEnv reads the OAUTH2_* variables; an empty one is not set. It
// returns the names of those that were.
func (c *Config) readEnv(getenv func(string) string, r *report) map[string]bool {
	set := map[string]bool{}
	for _, s := range settings {
		v := getenv(s.name())
		if v == "" {
			continue
		}
		set[s.name()] = true
		if err := s.readText(c, v); err != nil {
			r.envFailed(s, v, err)
		}
	}
	return set
}

// byKey finds a setting by its file key.
var byKey = func() map[string]setting {
	m := make(map[string]setting, len(settings))
	for _, s := range settings {
		m[fileKey(s.name())] = s
	}
	return m
}()

// HTTPSIssuer reports whether the issuer is an https URL, which makes
// cookies Secure and sends HSTS. The scheme is compared without regard to
// case (RFC 3986 §3.1), as browsers compare it: an issuer written
// HTTPS://... is served over TLS all the same.
func (s Server) HTTPSIssuer() bool { return s.issuerScheme() == "https" }

// issuerScheme is the issuer's scheme in lower case, or "" if it does not
// parse.
func (s Server) issuerScheme() string {
	u, err := url.Parse(s.Issuer)
	if err != nil {
		return ""
	}
	return u.Scheme
}

// ClientCertificates reports whether TLS client certificates reach the
// server: from its own TLS listener, or from a trusted proxy's header.
func (t TLS) ClientCertificates() bool {
	return t.CertFile != "" && t.ClientCerts || t.ClientCertHeader != ""
}

// Store kinds, chosen by the scheme of the database URL.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
	StoreMongo    = "mongo"
)

// Kind returns which store the database URL selects.
func (s Store) Kind() (string, error) {
	switch {
	case strings.HasPrefix(s.URL, "sqlite:"):
		return StoreSQLite, nil
	case strings.HasPrefix(s.URL, "postgres://"), strings.HasPrefix(s.URL, "postgresql://"):
		return StorePostgres, nil
	case strings.HasPrefix(s.URL, "mongodb://"), strings.HasPrefix(s.URL, "mongodb+srv://"):
		return StoreMongo, nil
	}
	return "", fmt.Errorf("OAUTH2_DATABASE_URL %q: want sqlite:PATH, postgres://HOST/DB or mongodb://HOST/DB", redactURL(s.URL))
}

// RedactedURL is the database URL with any password hidden, for logs.
func (s Store) RedactedURL() string { return redactURL(s.URL) }

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

// redactURL hides a password in a database URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
