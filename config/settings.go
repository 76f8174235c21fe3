package config

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
)

// settings defines every setting once: its environment variable (the file
// key is the same in lower case without the prefix), where it lives in
// Config, how it is read, its default and dev mode's, the checks of its
// value alone, and the README's words for it. Checks that involve more
// than one setting are in validate.go. The README's configuration table
// is rendered from this list in this order (go generate ./config).
var settings = []setting{
	&field[bool]{env: "OAUTH2_DEV", kind: flagKind, at: func(c *Config) *bool { return &c.Dev },
		meaning: "dev mode (same as `--dev`)"},

	// Server
	&field[string]{env: "OAUTH2_ADDR", kind: textKind, at: func(c *Config) *string { return &c.Server.Addr },
		def: ":8080", dev: always(DevAddr),
		meaning: "listen address"},
	&field[string]{env: "OAUTH2_ISSUER", kind: textKind, at: func(c *Config) *string { return &c.Server.Issuer },
		dev:      devIssuer,
		defaults: "none (dev: `http://localhost:8080`, `https://localhost:8080` with `OAUTH2_TLS_CERT_FILE`)",
		meaning:  "public base URL; https unless loopback (or `OAUTH2_ALLOW_INSECURE_ISSUER=1`), and always with `OAUTH2_TLS_CERT_FILE`"},
	&field[bool]{env: "OAUTH2_ALLOW_INSECURE_ISSUER", kind: flagKind, at: func(c *Config) *bool { return &c.Server.AllowInsecureIssuer },
		meaning: "`1`: accept a plain-http issuer on a host that is not loopback outside dev mode, for a closed test network (codes, tokens and cookies cross it in clear text; a warning at start)"},
	&field[[]netip.Prefix]{env: "OAUTH2_TRUSTED_PROXIES", kind: networkKind, at: func(c *Config) *[]netip.Prefix { return &c.Server.TrustedProxies },
		meaning: "comma-separated IPs/CIDRs whose `X-Forwarded-For` (and `OAUTH2_CLIENT_CERT_HEADER`) is believed"},
	&field[int64]{env: "OAUTH2_MAX_BODY_BYTES", kind: byteKind, at: func(c *Config) *int64 { return &c.Server.MaxBodyBytes },
		def: 1 << 20, checks: []func(*report, string, int64){atLeastBytes(1024)},
		meaning: "request body cap; larger bodies get 413"},
	&field[time.Duration]{env: "OAUTH2_SHUTDOWN_DRAIN", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Server.ShutdownDrain },
		def: DefaultShutdownDrain, dev: always(time.Duration(0)), checks: durationChecks(drainWithin(maxShutdownDrain)),
		meaning: "after SIGTERM or SIGINT, how long the server keeps serving with `/ready` answering 503, so that load balancers stop sending before the listener closes; `0` closes it at once; at most `5m`"},

	// Store
	&field[string]{env: "OAUTH2_DATABASE_URL", kind: textKind, at: func(c *Config) *string { return &c.Store.URL },
		def:     DevDatabaseURL,
		meaning: "`sqlite:PATH`, `postgres://...` or `mongodb://...`"},
	&field[int]{env: "OAUTH2_DB_MAX_CONNS", kind: countKind, at: func(c *Config) *int { return &c.Store.MaxConns },
		def:     20,
		meaning: "PostgreSQL pool size"},
	&field[int]{env: "OAUTH2_DB_MIN_CONNS", kind: countKind, at: func(c *Config) *int { return &c.Store.MinConns },
		def: 2, sameRow: true},
	&field[time.Duration]{env: "OAUTH2_DB_STATEMENT_TIMEOUT", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Store.StatementTimeout },
		def:     5 * time.Second,
		meaning: "PostgreSQL statement timeout"},
	&field[time.Duration]{env: "OAUTH2_JANITOR_INTERVAL", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Store.JanitorInterval },
		def: time.Minute, checks: durationChecks(atLeast(time.Second)),
		meaning: "how often expired codes, tokens, sessions, pending requests (CIBA ones too) and single-use ids are deleted (in batches)"},

	// Keys
	&field[[]byte]{env: "OAUTH2_KEY_ENCRYPTION_KEY", kind: keyKind, at: func(c *Config) *[]byte { return &c.Keys.EncryptionKey },
		quiet: true, defaults: "none (dev: derived, with a warning)",
		meaning: "32 random bytes, base64 (`openssl rand -base64 32`); seals signing keys, keys cookie signatures and client-secret hashes"},
	&field[time.Duration]{env: "OAUTH2_KEY_ROTATION_INTERVAL", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Keys.RotationInterval },
		def: 90 * 24 * time.Hour, checks: durationChecks(notNegative),
		meaning: "automatic signing key rotation; `0` turns it off"},
	&field[time.Duration]{env: "OAUTH2_KEY_PROPAGATION_DELAY", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Keys.PropagationDelay },
		def: time.Hour, checks: durationChecks(notNegative),
		meaning: "how long a new key is published before it signs; the JWKS max-age"},
	&field[time.Duration]{env: "OAUTH2_KEY_GRACE_PERIOD", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Keys.GracePeriod },
		def:     24 * time.Hour,
		meaning: "how long a replaced key stays published; at least the token lifetimes"},

	// Seed
	&field[string]{env: "OAUTH2_SEED_USERNAME", kind: textKind, at: func(c *Config) *string { return &c.Seed.Username },
		dev: always(DevSeedUsername), defaults: "none (dev: `demo` / `demo-password`)",
		meaning: "a user created at start if absent (so a seed user an operator deletes comes back at the next start while these name it); other users are added with the admin UI or `POST /admin/api/users`"},
	&field[string]{env: "OAUTH2_SEED_PASSWORD", kind: textKind, at: func(c *Config) *string { return &c.Seed.Password },
		dev: always(DevSeedPassword), quiet: true, sameRow: true},

	// Registration and administration
	&field[string]{env: "OAUTH2_REGISTRATION_TOKEN", kind: textKind, at: func(c *Config) *string { return &c.Registration.Token },
		quiet: true, defaults: "none (dev: random, printed)",
		meaning: "initial access token for `/oauth/register`; registration is off without one; at least 24 characters outside dev mode"},
	&field[[]string]{env: "OAUTH2_SCOPE_ALLOWLIST", kind: listKind, at: func(c *Config) *[]string { return &c.Registration.ScopeAllowList },
		meaning: "comma-separated scopes clients may register; any valid scope when unset"},
	&field[string]{env: "OAUTH2_ADMIN_TOKEN", kind: textKind, at: func(c *Config) *string { return &c.Admin.Token },
		quiet: true, defaults: "none (dev: random, printed)",
		meaning: "bearer token for `/admin/api` and the sign-in of the admin UI at `/admin`; both are off without one; at least 24 characters and not the registration token outside dev mode"},

	// TLS
	&field[string]{env: "OAUTH2_TLS_CERT_FILE", kind: textKind, at: func(c *Config) *string { return &c.TLS.CertFile },
		meaning: "PEM certificate chain and private key: the server serves HTTPS itself (TLS 1.2+; the issuer must be https); re-read on SIGHUP"},
	&field[string]{env: "OAUTH2_TLS_KEY_FILE", kind: textKind, at: func(c *Config) *string { return &c.TLS.KeyFile },
		sameRow: true},
	&field[bool]{env: "OAUTH2_TLS_CLIENT_CERTS", kind: flagKind, at: func(c *Config) *bool { return &c.TLS.ClientCerts },
		def:     true,
		meaning: "with TLS: ask every client for a certificate (any is accepted at the handshake; the OAuth layer checks it); `0`: plain HTTPS"},
	&field[string]{env: "OAUTH2_TLS_CLIENT_CA_FILE", kind: textKind, at: func(c *Config) *string { return &c.TLS.ClientCAFile },
		meaning: "PEM CA certificates that `tls_client_auth` certificates must chain to (from the listener or the proxy header); `tls_client_auth` is off without it; re-read on SIGHUP"},
	&field[string]{env: "OAUTH2_CLIENT_CERT_HEADER", kind: textKind, at: func(c *Config) *string { return &c.TLS.ClientCertHeader },
		meaning: "header in which a TLS-terminating proxy at `OAUTH2_TRUSTED_PROXIES` forwards the client certificate (`X-Client-Cert`, `Client-Cert`, `X-Forwarded-Client-Cert`); ignored from other addresses"},
	&field[string]{env: "OAUTH2_CLIENT_CERT_HEADER_FORMAT", kind: textKind, at: func(c *Config) *string { return &c.TLS.ClientCertHeaderFormat },
		defaults: "`rfc9440` for `Client-Cert`, `xfcc` for `X-Forwarded-Client-Cert`, else `pem`",
		meaning:  "`pem` (URL-encoded, nginx's `$ssl_client_escaped_cert`), `rfc9440` or `xfcc` (Envoy)"},

	// Tokens
	&field[string]{env: "OAUTH2_ACCESS_TOKEN_ALG", kind: textKind, at: func(c *Config) *string { return &c.Tokens.AccessTokenAlg },
		def: "ES256", checks: []func(*report, string, string){oneOf("ES256", "EdDSA", "PS256", "RS256")},
		meaning: "signature algorithm of JWT access tokens: `ES256`, `EdDSA` (Ed25519, about half the signing CPU of ES256), `PS256` or `RS256` (both far slower); the verifying key is in the JWKS either way"},
	&field[time.Duration]{env: "OAUTH2_ACCESS_TOKEN_TTL", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Tokens.AccessTokenTTL },
		def: time.Hour, checks: durationChecks(positive),
		meaning: "access token lifetime"},
	&field[time.Duration]{env: "OAUTH2_REFRESH_TOKEN_TTL", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Tokens.RefreshTokenTTL },
		def: 30 * 24 * time.Hour, checks: durationChecks(positive),
		meaning: "refresh token lifetime (renewed on each rotation)"},
	&field[time.Duration]{env: "OAUTH2_ID_TOKEN_TTL", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Tokens.IDTokenTTL },
		def: time.Hour, checks: durationChecks(positive),
		meaning: "ID token lifetime"},
	&field[time.Duration]{env: "OAUTH2_CODE_TTL", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Tokens.CodeTTL },
		// RFC 6749 §4.1.2: a maximum code lifetime of 10 minutes is
		// recommended.
		def: time.Minute, checks: durationChecks(positive, atMost(10*time.Minute)),
		meaning: "authorization code lifetime (at most 10m)"},
	&field[time.Duration]{env: "OAUTH2_SESSION_TTL", kind: durationKind, at: func(c *Config) *time.Duration { return &c.Tokens.SessionTTL },
		def: 24 * time.Hour, checks: durationChecks(positive),
		meaning: "sign-in session lifetime"},

	// Protocol
	&field[bool]{env: "OAUTH2_REQUIRE_PAR", kind: flagKind, at: func(c *Config) *bool { return &c.Protocol.RequirePAR },
		meaning: "`1`: every client must use pushed authorization requests"},
	&field[bool]{env: "OAUTH2_DPOP_NONCE", kind: flagKind, at: func(c *Config) *bool { return &c.Protocol.DPoPNonce },
		meaning: "`1`: every DPoP proof must carry a nonce the server issued (RFC 9449 §8); nonces are HMACs under a key derived from `OAUTH2_KEY_ENCRYPTION_KEY`, good for 5 minutes on every replica"},
	&field[[]string]{env: "OAUTH2_AUTHORIZATION_DETAILS_TYPES", kind: listKind, at: func(c *Config) *[]string { return &c.Protocol.AuthorizationDetailsTypes },
		checks:  []func(*report, string, []string){detailTypes},
		meaning: "comma-separated RFC 9396 authorization details types the server accepts (`payment_initiation,account_information`); `authorization_details` is refused and not advertised without any"},
	&field[[]TrustedIssuer]{env: "OAUTH2_TRUSTED_ISSUERS", kind: issuersKind, at: func(c *Config) *[]TrustedIssuer { return &c.Protocol.TrustedIssuers },
		quiet: true, checks: []func(*report, string, []TrustedIssuer){trustedIssuers},
		meaning: "JSON array of `{\"issuer\", \"jwks\" or \"jwks_uri\", \"clients\"}` for the JWT bearer grant"},
	&field[[]string]{env: "OAUTH2_REQUEST_URI_HOSTS", kind: hostKind, at: func(c *Config) *[]string { return &c.Protocol.RequestURIHosts },
		meaning: "comma-separated hosts (`name` for port 443, or `name:port`, IPs in brackets for IPv6) from which request objects by reference (`request_uri`) are fetched; none are fetched when unset. A name that resolves to a loopback, private or link-local address is refused; listing an IP literal is how such an address is allowed"},

	// Outbound
	&field[[]netip.Prefix]{env: "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", kind: networkKind, at: func(c *Config) *[]netip.Prefix { return &c.Outbound.PrivateNetworks },
		dev:     func(*Config) []netip.Prefix { return slices.Clone(DevOutboundPrivateNetworks) },
		meaning: "comma-separated CIDRs or IPs of non-public addresses the server may call at URLs clients register (`jwks_uri`, `backchannel_logout_uri`, `backchannel_client_notification_endpoint`); every other loopback, private, link-local or reserved address is refused, at registration for an IP literal or `localhost` and on every connection for a name. Outside dev mode an entry that includes loopback, link-local or `0.0.0.0/8` addresses (`0.0.0.0/0` does) is refused without `OAUTH2_ALLOW_LOCAL_OUTBOUND=1`"},
	&field[bool]{env: "OAUTH2_ALLOW_LOCAL_OUTBOUND", kind: flagKind, at: func(c *Config) *bool { return &c.Outbound.AllowLocal },
		meaning: "`1`: accept `OAUTH2_OUTBOUND_PRIVATE_NETWORKS` entries that include loopback, link-local (cloud metadata) or `0.0.0.0/8` addresses outside dev mode (a warning at start)"},

	// Events
	&field[[]string]{env: "OAUTH2_EVENT_SINKS", kind: listKind, at: func(c *Config) *[]string { return &c.Events.Sinks },
		def:     []string{"log"},
		meaning: "where domain events go: any of `log`, `redis` (stream `oauth2:events`), `nats` (JetStream `OAUTH2_EVENTS`), `webhook`; `none`"},
	&field[string]{env: "OAUTH2_NATS_URL", kind: textKind, at: func(c *Config) *string { return &c.Events.NATSURL },
		meaning: "NATS server of the `nats` sink"},
	&field[string]{env: "OAUTH2_EVENT_WEBHOOK_URL", kind: textKind, at: func(c *Config) *string { return &c.Events.WebhookURL },
		meaning: "https endpoint of the `webhook` sink and its HMAC-SHA256 key (`X-Signature: t=...,v1=...`)"},
	&field[string]{env: "OAUTH2_EVENT_WEBHOOK_SECRET", kind: textKind, at: func(c *Config) *string { return &c.Events.WebhookSecret },
		quiet: true, sameRow: true},

	// CIBA
	&field[string]{env: "OAUTH2_CIBA_NOTIFIER", kind: textKind, at: func(c *Config) *string { return &c.CIBA.Notifier },
		dev: always("log"), defaults: "`none` (dev: `log`)",
		meaning: "how a user's authentication device learns of a CIBA request: `log` (an Info line with `decision_url`), `webhook`, or `none` (CIBA off and not advertised)"},
	&field[string]{env: "OAUTH2_CIBA_WEBHOOK_URL", kind: textKind, at: func(c *Config) *string { return &c.CIBA.WebhookURL },
		meaning: "the `webhook` notifier's endpoint (https, or http on loopback) and HMAC-SHA256 key of at least 16 characters (`X-Signature: t=...,v1=...`, as the event webhook); the JSON notice has `id`, `user_id`, `username`, `client_id`, `client_name`, `scope`, `binding_message`, `decision_url`, `expires_at`"},
	&field[string]{env: "OAUTH2_CIBA_WEBHOOK_SECRET", kind: textKind, at: func(c *Config) *string { return &c.CIBA.WebhookSecret },
		quiet: true, sameRow: true},

	// Telemetry
	&field[string]{env: "OAUTH2_OTLP_ENDPOINT", kind: textKind, at: func(c *Config) *string { return &c.Telemetry.OTLPEndpoint },
		meaning: "OTLP/HTTP endpoint for traces (`http://collector:4318`); without it no span is exported, but requests still get W3C trace ids"},
	&field[slog.Level]{env: "OAUTH2_LOG_LEVEL", kind: levelKind, at: func(c *Config) *slog.Level { return &c.Telemetry.LogLevel },
		def:     slog.LevelInfo,
		meaning: "`debug`, `info`, `warn`, `error` (JSON logs on stderr)"},
	&field[string]{env: "OAUTH2_DEBUG_ADDR", kind: textKind, at: func(c *Config) *string { return &c.Telemetry.DebugAddr },
		meaning: "`host:port` of a separate listener serving Go's profiles at `/debug/pprof/` (`go tool pprof http://127.0.0.1:6060/debug/pprof/profile`); keep it on loopback or a private network"},

	// Redis and rate limits
	&field[string]{env: "OAUTH2_REDIS_URL", kind: textKind, at: func(c *Config) *string { return &c.Redis.URL },
		quiet: true, checks: []func(*report, string, string){redisURL},
		meaning: "`redis://...`: rate limits shared by every replica; in-memory per replica without it"},
	&field[bool]{env: "OAUTH2_RATE_LIMIT", kind: flagKind, at: func(c *Config) *bool { return &c.RateLimit.Enabled },
		def:     true,
		meaning: "`0` turns rate limiting off (it is on by default, dev mode too)"},
	&field[Rate]{env: "OAUTH2_RATE_LIMIT_TOKEN", kind: rateKind, at: func(c *Config) *Rate { return &c.RateLimit.Token },
		def:     Rate{Count: 50, Per: time.Second, Burst: 100},
		meaning: "per client address and per client_id on token, introspection, revocation"},
	&field[Rate]{env: "OAUTH2_RATE_LIMIT_USERINFO", kind: rateKind, at: func(c *Config) *Rate { return &c.RateLimit.UserInfo },
		def:     Rate{Count: 50, Per: time.Second, Burst: 100},
		meaning: "per client address on userinfo"},
	&field[Rate]{env: "OAUTH2_RATE_LIMIT_INTERACTIVE", kind: rateKind, at: func(c *Config) *Rate { return &c.RateLimit.Interactive },
		def:     Rate{Count: 10, Per: time.Second, Burst: 20},
		meaning: "per client address on authorize, sign-in, consent, logout, account, admin"},
	&field[Rate]{env: "OAUTH2_RATE_LIMIT_REGISTRATION", kind: rateKind, at: func(c *Config) *Rate { return &c.RateLimit.Registration },
		def:     Rate{Count: 1, Per: time.Second, Burst: 5},
		meaning: "per client address on registration"},
	&field[Rate]{env: "OAUTH2_RATE_LIMIT_FAILURES", kind: rateKind, at: func(c *Config) *Rate { return &c.RateLimit.Failures },
		def:     Rate{Count: 5, Per: time.Minute, Burst: 10},
		meaning: "failed client or user authentications per address, client and username"},
	&field[string]{env: "OAUTH2_RATE_LIMIT_REDIS_FAILURE", kind: textKind, at: func(c *Config) *string { return &c.RateLimit.RedisFailure },
		def: "local", checks: []func(*report, string, string){oneOf("local", "open", "closed")},
		meaning: "while Redis is unreachable: `local` (per-replica limits), `open`, `closed` (503)"},
}

// maxShutdownDrain bounds the drain: a longer one holds every rollout,
// and is more likely a unit typed wrong than a wish.
const maxShutdownDrain = 5 * time.Minute

// devIssuer is the issuer of dev mode: https when the server serves TLS.
func devIssuer(c *Config) string {
	if c.TLS.CertFile != "" {
		return DevTLSIssuer
	}
	return DevIssuer
}

func durationChecks(checks ...func(*report, string, time.Duration)) []func(*report, string, time.Duration) {
	return checks
}

func positive(r *report, key string, d time.Duration) {
	if d <= 0 {
		r.bad("%s must be positive", key)
	}
}

func notNegative(r *report, key string, d time.Duration) {
	if d < 0 {
		r.bad("%s must not be negative", key)
	}
}

func atLeast(min time.Duration) func(*report, string, time.Duration) {
	return func(r *report, key string, d time.Duration) {
		if d < min {
			r.bad("%s must be at least %s", key, shortDuration(min))
		}
	}
}

func atMost(max time.Duration) func(*report, string, time.Duration) {
	return func(r *report, key string, d time.Duration) {
		if d > max {
			r.bad("%s must be at most %s", key, shortDuration(max))
		}
	}
}

func drainWithin(max time.Duration) func(*report, string, time.Duration) {
	return func(r *report, key string, d time.Duration) {
		if d < 0 || d > max {
			r.bad("%s must be between 0 and %s", key, max)
		}
	}
}

func atLeastBytes(min int64) func(*report, string, int64) {
	return func(r *report, key string, n int64) {
		if n < min {
			r.bad("%s must be at least %d", key, min)
		}
	}
}

// oneOf accepts the values listed, and says them in order when it
// refuses.
func oneOf(values ...string) func(*report, string, string) {
	return func(r *report, key string, v string) {
		if !slices.Contains(values, v) {
			r.bad("%s must be %s", key, orList(values))
		}
	}
}

// orList writes "a, b or c".
func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

func redisURL(r *report, _ string, u string) {
	if u != "" && !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") {
		r.bad("OAUTH2_REDIS_URL must be a redis:// or rediss:// URL")
	}
}

// detailTypes refuses RFC 9396 types that are empty, overlong, unprintable
// or listed twice.
func detailTypes(r *report, key string, types []string) {
	for i, t := range types {
		switch {
		case t == "" || len(t) > 256 || strings.ContainsFunc(t, unicode.IsControl):
			r.bad("%s: %q must be 1 to 256 printable characters", key, t)
		case slices.Contains(types[:i], t):
			r.bad("%s: %q is listed twice", key, t)
		}
	}
}

// trustedIssuers refuses an issuer without a name or without exactly one
// source of keys, and keys fetched without TLS.
func trustedIssuers(r *report, _ string, list []TrustedIssuer) {
	for _, ti := range list {
		if ti.Issuer == "" || (ti.JWKS == "") == (ti.JWKSURI == "") {
			r.bad("trusted issuer %q needs an issuer and exactly one of jwks and jwks_uri", ti.Issuer)
		} else if ti.JWKSURI != "" && !strings.HasPrefix(ti.JWKSURI, "https://") {
			r.bad("trusted issuer %q: jwks_uri must be https", ti.Issuer)
		}
	}
}
