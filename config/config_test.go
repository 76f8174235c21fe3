package config_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/config"
)

var (
	kekBytes = bytes.Repeat([]byte{0x42}, 32)
	kekB64   = base64.StdEncoding.EncodeToString(kekBytes)
)

// env returns a getenv reading only m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// prodEnv is a minimal valid configuration outside dev mode.
func prodEnv() map[string]string {
	return map[string]string{
		"OAUTH2_ISSUER":             "https://id.example.com",
		"OAUTH2_KEY_ENCRYPTION_KEY": kekB64,
	}
}

func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func prefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, p := range list {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "oauth2.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, file string, dev bool, m map[string]string) *config.Config {
	t.Helper()
	c, err := config.Load(file, dev, env(m))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoadDevMode(t *testing.T) {
	c := mustLoad(t, "", true, map[string]string{})
	checks := []struct {
		name string
		got  any
		want any
	}{
		{name: "issuer is localhost:8080", got: c.Server.Issuer, want: "http://localhost:8080"},
		{name: "database is the local sqlite file", got: c.Store.URL, want: "sqlite:./data/oauth2.db"},
		{name: "demo user is seeded", got: c.Seed.Username, want: "demo"},
		{name: "demo password is set", got: c.Seed.Password, want: "demo-password"},
		{name: "listens on localhost only", got: c.Server.Addr, want: "localhost:8080"},
		{name: "dev flag is recorded", got: c.Dev, want: true},
		{name: "key-encryption key is derived", got: len(c.Keys.EncryptionKey), want: 32},
		{name: "CIBA notices go to the log", got: c.CIBA.Notifier, want: "log"},
		{name: "shutdown does not wait for load balancers", got: c.Server.ShutdownDrain, want: time.Duration(0)},
	}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			if !reflect.DeepEqual(ck.got, ck.want) {
				t.Fatalf("got %v, want %v", ck.got, ck.want)
			}
		})
	}
	t.Run("derived key comes with a warning", func(t *testing.T) {
		if len(c.Warnings) == 0 || !strings.Contains(strings.Join(c.Warnings, "\n"), "OAUTH2_KEY_ENCRYPTION_KEY") {
			t.Fatalf("warnings = %q, want one about OAUTH2_KEY_ENCRYPTION_KEY", c.Warnings)
		}
	})
	t.Run("derived key is the same on every start", func(t *testing.T) {
		again := mustLoad(t, "", true, map[string]string{})
		if !bytes.Equal(c.Keys.EncryptionKey, again.Keys.EncryptionKey) {
			t.Fatal("two dev starts derived different keys; stored signing keys would no longer open")
		}
	})
	t.Run("another database gets another derived key", func(t *testing.T) {
		other := mustLoad(t, "", true, map[string]string{"OAUTH2_DATABASE_URL": "sqlite:./other.db"})
		if bytes.Equal(c.Keys.EncryptionKey, other.Keys.EncryptionKey) {
			t.Fatal("two databases share a derived key")
		}
	})
	t.Run("a given key is used and nothing is derived", func(t *testing.T) {
		given := mustLoad(t, "", true, map[string]string{"OAUTH2_KEY_ENCRYPTION_KEY": kekB64})
		if !bytes.Equal(given.Keys.EncryptionKey, kekBytes) {
			t.Fatal("dev mode ignored the configured key")
		}
		if len(given.Warnings) != 0 {
			t.Errorf("warnings = %q, want none", given.Warnings)
		}
	})
	t.Run("OAUTH2_DEV turns dev mode on", func(t *testing.T) {
		viaEnv := mustLoad(t, "", false, map[string]string{"OAUTH2_DEV": "1"})
		if !viaEnv.Dev || viaEnv.Server.Issuer != config.DevIssuer {
			t.Fatalf("Dev = %v, Issuer = %q", viaEnv.Dev, viaEnv.Server.Issuer)
		}
	})
	t.Run("dev mode with TLS defaults to an https issuer", func(t *testing.T) {
		c := mustLoad(t, "", true, map[string]string{"OAUTH2_TLS_CERT_FILE": "tls.crt", "OAUTH2_TLS_KEY_FILE": "tls.key"})
		if c.Server.Issuer != config.DevTLSIssuer {
			t.Fatalf("Issuer = %q, want %s", c.Server.Issuer, config.DevTLSIssuer)
		}
	})
	t.Run("dev mode calls relying parties on loopback unless told otherwise", func(t *testing.T) {
		if got := mustLoad(t, "", true, nil).Outbound.PrivateNetworks; !slices.Equal(got, config.DevOutboundPrivateNetworks) {
			t.Fatalf("OutboundPrivateNetworks = %v, want %v", got, config.DevOutboundPrivateNetworks)
		}
		if got := mustLoad(t, "", true, map[string]string{"OAUTH2_OUTBOUND_PRIVATE_NETWORKS": "10.0.0.0/8"}).Outbound.PrivateNetworks; !slices.Equal(got, prefixes("10.0.0.0/8")) {
			t.Fatalf("OutboundPrivateNetworks = %v, want the configured one alone", got)
		}
	})
	t.Run("dev mode keeps what the environment sets, even the default", func(t *testing.T) {
		if got := mustLoad(t, "", true, map[string]string{"OAUTH2_ADDR": ":8080"}).Server.Addr; got != ":8080" {
			t.Fatalf("Addr = %q, want the configured :8080", got)
		}
	})
	t.Run("dev mode drains as long as told", func(t *testing.T) {
		if got := mustLoad(t, "", true, map[string]string{"OAUTH2_SHUTDOWN_DRAIN": "5s"}).Server.ShutdownDrain; got != 5*time.Second {
			t.Fatalf("ShutdownDrain = %v, want the configured 5s", got)
		}
	})
	t.Run("dev mode accepts its own seed password and a plain http issuer", func(t *testing.T) {
		mustLoad(t, "", true, map[string]string{"OAUTH2_ISSUER": "http://devbox.internal:8080", "OAUTH2_SEED_PASSWORD": "demo-password"})
	})
}

func TestLoadOutsideDevMode(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // part of the error; "" when the configuration is accepted
	}{
		{name: "https issuer with a key is accepted", env: prodEnv()},
		{name: "http issuer on 127.0.0.1 is accepted", env: with(prodEnv(), "OAUTH2_ISSUER", "http://127.0.0.1:8080")},
		{name: "http issuer on [::1] is accepted", env: with(prodEnv(), "OAUTH2_ISSUER", "http://[::1]:8080")},
		{name: "https issuer with a path is accepted", env: with(prodEnv(), "OAUTH2_ISSUER", "https://example.com/tenant-a")},
		{name: "unpadded base64url key is accepted", env: with(prodEnv(), "OAUTH2_KEY_ENCRYPTION_KEY", base64.RawURLEncoding.EncodeToString(kekBytes))},
		{name: "strong seed password is accepted", env: with(prodEnv(), "OAUTH2_SEED_USERNAME", "admin", "OAUTH2_SEED_PASSWORD", "a-long-random-password")},
		{name: "request_uri hosts by name and by IP are accepted", env: with(prodEnv(), "OAUTH2_REQUEST_URI_HOSTS", "rp.example.com,10.0.0.5:8443,[::1]:9443")},

		{name: "missing key-encryption key", env: with(prodEnv(), "OAUTH2_KEY_ENCRYPTION_KEY", ""), wantErr: "OAUTH2_KEY_ENCRYPTION_KEY is required"},
		{name: "16-byte key-encryption key", env: with(prodEnv(), "OAUTH2_KEY_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(kekBytes[:16])), wantErr: "OAUTH2_KEY_ENCRYPTION_KEY must be 32"},
		{name: "64-byte key-encryption key", env: with(prodEnv(), "OAUTH2_KEY_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat(kekBytes, 2))), wantErr: "OAUTH2_KEY_ENCRYPTION_KEY must be 32"},
		{name: "key-encryption key that is not base64", env: with(prodEnv(), "OAUTH2_KEY_ENCRYPTION_KEY", "correct horse battery staple, 32!"), wantErr: "OAUTH2_KEY_ENCRYPTION_KEY must be 32"},
		{name: "missing issuer", env: with(prodEnv(), "OAUTH2_ISSUER", ""), wantErr: "OAUTH2_ISSUER is required"},
		{name: "http issuer on a public host", env: with(prodEnv(), "OAUTH2_ISSUER", "http://id.example.com"), wantErr: "must use https"},
		{name: "http issuer on a host named like loopback", env: with(prodEnv(), "OAUTH2_ISSUER", "http://127.0.0.1.example.com"), wantErr: "must use https"},
		{name: "issuer with a query", env: with(prodEnv(), "OAUTH2_ISSUER", "https://id.example.com/?tenant=a"), wantErr: "without query or fragment"},
		{name: "issuer with a fragment", env: with(prodEnv(), "OAUTH2_ISSUER", "https://id.example.com/#x"), wantErr: "without query or fragment"},
		{name: "relative issuer", env: with(prodEnv(), "OAUTH2_ISSUER", "id.example.com"), wantErr: "absolute URL"},
		{name: "dev seed password", env: with(prodEnv(), "OAUTH2_SEED_USERNAME", "demo", "OAUTH2_SEED_PASSWORD", "demo-password"), wantErr: "OAUTH2_SEED_PASSWORD must not be the dev default"},
		{name: "short seed password", env: with(prodEnv(), "OAUTH2_SEED_USERNAME", "admin", "OAUTH2_SEED_PASSWORD", "hunter2hunt"), wantErr: "at least 12 characters"},
		{name: "seed username without password", env: with(prodEnv(), "OAUTH2_SEED_USERNAME", "admin"), wantErr: "go together"},
		{name: "short registration token", env: with(prodEnv(), "OAUTH2_REGISTRATION_TOKEN", "letmein"), wantErr: "OAUTH2_REGISTRATION_TOKEN must have at least 24"},
		{name: "unknown database scheme", env: with(prodEnv(), "OAUTH2_DATABASE_URL", "mysql://db/oauth2"), wantErr: "OAUTH2_DATABASE_URL"},
		{name: "bad trusted proxy", env: with(prodEnv(), "OAUTH2_TRUSTED_PROXIES", "10.0.0.0/33"), wantErr: "10.0.0.0/33"},
		{name: "bad outbound private network", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "10.0.0.0/8,intranet"), wantErr: `outbound_private_networks: "intranet" is neither an IP nor a CIDR`},
		{name: "outbound private network with a zone", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "fe80::1%eth0"), wantErr: "outbound_private_networks"},
		{name: "code lifetime over ten minutes", env: with(prodEnv(), "OAUTH2_CODE_TTL", "11m"), wantErr: "code_ttl must be at most 10m"},
		{name: "negative token lifetime", env: with(prodEnv(), "OAUTH2_ACCESS_TOKEN_TTL", "-1m"), wantErr: "access_token_ttl must be positive"},
		{name: "negative shutdown drain", env: with(prodEnv(), "OAUTH2_SHUTDOWN_DRAIN", "-1s"), wantErr: "shutdown_drain must be between 0 and 5m0s"},
		{name: "shutdown drain of an hour", env: with(prodEnv(), "OAUTH2_SHUTDOWN_DRAIN", "1h"), wantErr: "shutdown_drain"},
		{name: "no shutdown drain is accepted", env: with(prodEnv(), "OAUTH2_SHUTDOWN_DRAIN", "0s")},
		{name: "tiny body limit", env: with(prodEnv(), "OAUTH2_MAX_BODY_BYTES", "100"), wantErr: "max_body_bytes"},
		{name: "debug address without a port", env: with(prodEnv(), "OAUTH2_DEBUG_ADDR", "localhost"), wantErr: "OAUTH2_DEBUG_ADDR"},
		{name: "unknown access token algorithm", env: with(prodEnv(), "OAUTH2_ACCESS_TOKEN_ALG", "HS256"), wantErr: "access_token_alg must be ES256, EdDSA, PS256 or RS256"},
		{name: "unknown log level", env: with(prodEnv(), "OAUTH2_LOG_LEVEL", "verbose"), wantErr: "log_level"},
		{name: "TLS with a certificate and its key is accepted", env: with(prodEnv(), "OAUTH2_TLS_CERT_FILE", "tls.crt", "OAUTH2_TLS_KEY_FILE", "tls.key", "OAUTH2_TLS_CLIENT_CA_FILE", "ca.pem")},
		{name: "a proxy's certificate header with trusted proxies is accepted", env: with(prodEnv(), "OAUTH2_CLIENT_CERT_HEADER", "X-Client-Cert", "OAUTH2_TRUSTED_PROXIES", "10.0.0.1", "OAUTH2_TLS_CLIENT_CA_FILE", "ca.pem")},
		{name: "a TLS certificate without its key", env: with(prodEnv(), "OAUTH2_TLS_CERT_FILE", "tls.crt"), wantErr: "OAUTH2_TLS_CERT_FILE and OAUTH2_TLS_KEY_FILE go together"},
		{name: "a TLS key without its certificate", env: with(prodEnv(), "OAUTH2_TLS_KEY_FILE", "tls.key"), wantErr: "go together"},
		{name: "TLS with an http issuer", env: with(prodEnv(), "OAUTH2_ISSUER", "http://127.0.0.1:8443", "OAUTH2_TLS_CERT_FILE", "tls.crt", "OAUTH2_TLS_KEY_FILE", "tls.key"), wantErr: "must use https when the server serves TLS"},
		{name: "TLS with an http issuer whose scheme is in capitals", env: with(prodEnv(), "OAUTH2_ISSUER", "HTTP://127.0.0.1:8443", "OAUTH2_TLS_CERT_FILE", "tls.crt", "OAUTH2_TLS_KEY_FILE", "tls.key"), wantErr: "must use https when the server serves TLS"},
		{name: "a certificate header without trusted proxies", env: with(prodEnv(), "OAUTH2_CLIENT_CERT_HEADER", "X-Client-Cert"), wantErr: "OAUTH2_CLIENT_CERT_HEADER needs OAUTH2_TRUSTED_PROXIES"},
		{name: "a certificate header that is no header name", env: with(prodEnv(), "OAUTH2_CLIENT_CERT_HEADER", "X Client Cert", "OAUTH2_TRUSTED_PROXIES", "10.0.0.1"), wantErr: "must be an HTTP header name"},
		{name: "the Authorization header as certificate header", env: with(prodEnv(), "OAUTH2_CLIENT_CERT_HEADER", "authorization", "OAUTH2_TRUSTED_PROXIES", "10.0.0.1"), wantErr: "not one the server reads"},
		{name: "an unknown certificate header format", env: with(prodEnv(), "OAUTH2_CLIENT_CERT_HEADER", "X-Client-Cert", "OAUTH2_TRUSTED_PROXIES", "10.0.0.1", "OAUTH2_CLIENT_CERT_HEADER_FORMAT", "der"), wantErr: "want pem, rfc9440 or xfcc"},
		{name: "a certificate header format without a header", env: with(prodEnv(), "OAUTH2_CLIENT_CERT_HEADER_FORMAT", "pem"), wantErr: "OAUTH2_CLIENT_CERT_HEADER_FORMAT needs OAUTH2_CLIENT_CERT_HEADER"},
		{name: "a client CA without a source of certificates", env: with(prodEnv(), "OAUTH2_TLS_CLIENT_CA_FILE", "ca.pem"), wantErr: "OAUTH2_TLS_CLIENT_CA_FILE needs a source of client certificates"},
		{name: "a client CA with TLS that asks for no certificates", env: with(prodEnv(), "OAUTH2_TLS_CERT_FILE", "tls.crt", "OAUTH2_TLS_KEY_FILE", "tls.key", "OAUTH2_TLS_CLIENT_CERTS", "0", "OAUTH2_TLS_CLIENT_CA_FILE", "ca.pem"), wantErr: "OAUTH2_TLS_CLIENT_CA_FILE needs"},
		{name: "request_uri host with a scheme", env: with(prodEnv(), "OAUTH2_REQUEST_URI_HOSTS", "https://rp.example.com"), wantErr: "request_uri_hosts"},
		{name: "request_uri host with a path", env: with(prodEnv(), "OAUTH2_REQUEST_URI_HOSTS", "rp.example.com/objects"), wantErr: "request_uri_hosts"},
		{name: "request_uri host wildcard", env: with(prodEnv(), "OAUTH2_REQUEST_URI_HOSTS", "*.example.com"), wantErr: "request_uri_hosts"},
		{name: "request_uri host with a bad port", env: with(prodEnv(), "OAUTH2_REQUEST_URI_HOSTS", "rp.example.com:https"), wantErr: "request_uri_hosts"},
		{name: "request_uri host with user info", env: with(prodEnv(), "OAUTH2_REQUEST_URI_HOSTS", "admin@rp.example.com"), wantErr: "request_uri_hosts"},
		{name: "CIBA webhook notifier with an https URL is accepted", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "webhook", "OAUTH2_CIBA_WEBHOOK_URL", "https://push.example.com/ciba", "OAUTH2_CIBA_WEBHOOK_SECRET", "ciba-webhook-secret-0123")},
		{name: "CIBA webhook notifier on a loopback http URL is accepted", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "webhook", "OAUTH2_CIBA_WEBHOOK_URL", "http://127.0.0.1:9000/ciba", "OAUTH2_CIBA_WEBHOOK_SECRET", "ciba-webhook-secret-0123")},
		{name: "CIBA log notifier is accepted", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "log")},
		{name: "unknown CIBA notifier", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "sms"), wantErr: "OAUTH2_CIBA_NOTIFIER"},
		{name: "CIBA webhook notifier without a URL", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "webhook", "OAUTH2_CIBA_WEBHOOK_SECRET", "ciba-webhook-secret-0123"), wantErr: "needs OAUTH2_CIBA_WEBHOOK_URL"},
		{name: "CIBA webhook notifier on plain http", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "webhook", "OAUTH2_CIBA_WEBHOOK_URL", "http://push.example.com/ciba", "OAUTH2_CIBA_WEBHOOK_SECRET", "ciba-webhook-secret-0123"), wantErr: "OAUTH2_CIBA_WEBHOOK_URL must use https"},
		{name: "CIBA webhook URL with credentials", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "webhook", "OAUTH2_CIBA_WEBHOOK_URL", "https://u:p@push.example.com/ciba", "OAUTH2_CIBA_WEBHOOK_SECRET", "ciba-webhook-secret-0123"), wantErr: "without credentials"},
		{name: "CIBA webhook URL that is relative", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "webhook", "OAUTH2_CIBA_WEBHOOK_URL", "/ciba", "OAUTH2_CIBA_WEBHOOK_SECRET", "ciba-webhook-secret-0123"), wantErr: "OAUTH2_CIBA_WEBHOOK_URL must be an absolute https URL"},
		{name: "CIBA webhook notifier with a short secret", env: with(prodEnv(), "OAUTH2_CIBA_NOTIFIER", "webhook", "OAUTH2_CIBA_WEBHOOK_URL", "https://push.example.com/ciba", "OAUTH2_CIBA_WEBHOOK_SECRET", "short"), wantErr: "OAUTH2_CIBA_WEBHOOK_SECRET of at least 16"},
		{name: "short admin token", env: with(prodEnv(), "OAUTH2_ADMIN_TOKEN", "admin"), wantErr: "OAUTH2_ADMIN_TOKEN must have at least 24 characters outside dev mode: whoever guesses it administers"},
		{name: "admin token that is the registration token", env: with(prodEnv(), "OAUTH2_ADMIN_TOKEN", "one-token-for-everything-0123", "OAUTH2_REGISTRATION_TOKEN", "one-token-for-everything-0123"), wantErr: "OAUTH2_ADMIN_TOKEN must differ from OAUTH2_REGISTRATION_TOKEN"},
		{name: "event webhook secret that is the admin token", env: with(prodEnv(), "OAUTH2_ADMIN_TOKEN", "admin-token-0123456789abcdef", "OAUTH2_EVENT_SINKS", "webhook",
			"OAUTH2_EVENT_WEBHOOK_URL", "https://hooks.example/in", "OAUTH2_EVENT_WEBHOOK_SECRET", "admin-token-0123456789abcdef"), wantErr: "OAUTH2_EVENT_WEBHOOK_SECRET must differ"},
		{name: "event webhook without a secret", env: with(prodEnv(), "OAUTH2_EVENT_SINKS", "webhook", "OAUTH2_EVENT_WEBHOOK_URL", "https://hooks.example/in"), wantErr: "OAUTH2_EVENT_WEBHOOK_SECRET of at least 16"},
		{name: "distinct long tokens are accepted", env: with(prodEnv(), "OAUTH2_ADMIN_TOKEN", "admin-token-0123456789abcdef", "OAUTH2_REGISTRATION_TOKEN", "reg-token-0123456789abcdef")},
		{name: "http issuer on a public host says why and how to accept it", env: with(prodEnv(), "OAUTH2_ISSUER", "http://id.example.com"), wantErr: "clear text (OAUTH2_ALLOW_INSECURE_ISSUER=1 accepts it"},
		{name: "http issuer on a public host with the opt-in is accepted", env: with(prodEnv(), "OAUTH2_ISSUER", "http://id.internal.example", "OAUTH2_ALLOW_INSECURE_ISSUER", "1")},
		{name: "issuer of another scheme even with the opt-in", env: with(prodEnv(), "OAUTH2_ISSUER", "ftp://id.example.com", "OAUTH2_ALLOW_INSECURE_ISSUER", "1"), wantErr: "must use https"},
		{name: "outbound calls to a private network are accepted", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "10.0.0.0/8,192.168.1.5,fd12:3456::/32,100.64.0.0/10")},
		{name: "outbound calls to every address", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "0.0.0.0/0"), wantErr: "OAUTH2_OUTBOUND_PRIVATE_NETWORKS: 0.0.0.0/0 includes 127.0.0.0/8"},
		{name: "outbound calls to every IPv6 address", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "::/0"), wantErr: "OAUTH2_OUTBOUND_PRIVATE_NETWORKS: ::/0 includes"},
		{name: "outbound calls to loopback", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "127.0.0.1"), wantErr: "the server's own host"},
		{name: "outbound calls to IPv4-mapped loopback", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "::ffff:127.0.0.1"), wantErr: "the server's own host"},
		{name: "outbound calls to the cloud metadata address", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "169.254.169.254"), wantErr: "cloud metadata services"},
		{name: "outbound calls to IPv6 link-local", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "fe80::/64"), wantErr: "link-local"},
		{name: "outbound calls to a ULA range holding a metadata service", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "fd00::/8"), wantErr: "a cloud metadata service"},
		{name: "outbound calls to this network", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "0.0.0.0/8"), wantErr: "this network"},
		{name: "outbound calls to loopback with the opt-in are accepted", env: with(prodEnv(), "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "127.0.0.0/8,0.0.0.0/0", "OAUTH2_ALLOW_LOCAL_OUTBOUND", "1")},
		{name: "an authorization details type listed twice", env: with(prodEnv(), "OAUTH2_AUTHORIZATION_DETAILS_TYPES", "payment_initiation,payment_initiation"), wantErr: "listed twice"},
		{name: "an overlong authorization details type", env: with(prodEnv(), "OAUTH2_AUTHORIZATION_DETAILS_TYPES", strings.Repeat("t", 257)), wantErr: "authorization_details_types"},
		{name: "an authorization details type with a control character", env: with(prodEnv(), "OAUTH2_AUTHORIZATION_DETAILS_TYPES", "pay\x7fment"), wantErr: "authorization_details_types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load("", false, env(tt.env))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Load refused: %v", err)
				}
				if c.Dev || len(c.Keys.EncryptionKey) != 32 {
					t.Errorf("Dev = %v, KEK length %d", c.Dev, len(c.Keys.EncryptionKey))
				}
				return
			}
			if err == nil {
				t.Fatalf("Load accepted it, want an error mentioning %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q does not mention %q", err, tt.wantErr)
			}
			if c != nil {
				t.Errorf("refused configuration still returned %+v", c)
			}
		})
	}
	t.Run("every problem is reported at once", func(t *testing.T) {
		_, err := config.Load("", false, env(map[string]string{"OAUTH2_ISSUER": "http://id.example.com"}))
		if err == nil {
			t.Fatal("Load accepted it")
		}
		for _, want := range []string{"OAUTH2_ISSUER", "OAUTH2_KEY_ENCRYPTION_KEY"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
	})
	t.Run("every insecure setting is refused at once, each named with its reason", func(t *testing.T) {
		_, err := config.Load("", false, env(map[string]string{
			"OAUTH2_ISSUER":                    "http://id.example.com",
			"OAUTH2_REGISTRATION_TOKEN":        "short",
			"OAUTH2_ADMIN_TOKEN":               "short-too",
			"OAUTH2_SEED_USERNAME":             "admin",
			"OAUTH2_SEED_PASSWORD":             "demo-password",
			"OAUTH2_OUTBOUND_PRIVATE_NETWORKS": "10.0.0.0/8,169.254.0.0/16",
		}))
		if err == nil {
			t.Fatal("Load accepted it")
		}
		for _, want := range []string{
			"OAUTH2_ISSUER \"http://id.example.com\" must use https",
			"OAUTH2_KEY_ENCRYPTION_KEY is required outside dev mode: it seals",
			"OAUTH2_REGISTRATION_TOKEN must have at least 24 characters outside dev mode: whoever guesses it registers clients",
			"OAUTH2_ADMIN_TOKEN must have at least 24",
			"OAUTH2_SEED_PASSWORD must not be the dev default",
			"OAUTH2_OUTBOUND_PRIVATE_NETWORKS: 169.254.0.0/16 includes",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "10.0.0.0/8 includes") {
			t.Errorf("error %q refuses a private network", err)
		}
	})
	t.Run("the insecure opt-ins come with warnings", func(t *testing.T) {
		c := mustLoad(t, "", false, with(prodEnv(), "OAUTH2_ISSUER", "http://id.internal.example", "OAUTH2_ALLOW_INSECURE_ISSUER", "1",
			"OAUTH2_OUTBOUND_PRIVATE_NETWORKS", "127.0.0.1", "OAUTH2_ALLOW_LOCAL_OUTBOUND", "1"))
		w := strings.Join(c.Warnings, "\n")
		if len(c.Warnings) != 2 || !strings.Contains(w, "clear text") || !strings.Contains(w, "OAUTH2_ALLOW_LOCAL_OUTBOUND=1") {
			t.Fatalf("warnings = %q", c.Warnings)
		}
	})
	t.Run("database password is not echoed in errors", func(t *testing.T) {
		_, err := config.Load("", false, env(with(prodEnv(), "OAUTH2_DATABASE_URL", "mysql://app:s3cret-pw@db/oauth2")))
		if err == nil {
			t.Fatal("Load accepted it")
		}
		if strings.Contains(err.Error(), "s3cret-pw") {
			t.Fatalf("error %q shows the database password", err)
		}
	})
	t.Run("trailing slash of the issuer is dropped", func(t *testing.T) {
		c := mustLoad(t, "", false, with(prodEnv(), "OAUTH2_ISSUER", "https://id.example.com/"))
		if c.Server.Issuer != "https://id.example.com" {
			t.Fatalf("Issuer = %q", c.Server.Issuer)
		}
	})
	t.Run("CIBA is off unless a notifier is configured", func(t *testing.T) {
		if c := mustLoad(t, "", false, prodEnv()); c.CIBA.Notifier != "none" {
			t.Fatalf("CIBANotifier = %q, want none", c.CIBA.Notifier)
		}
	})
	t.Run("CIBA webhook settings without the webhook notifier come with a warning", func(t *testing.T) {
		c := mustLoad(t, "", false, with(prodEnv(), "OAUTH2_CIBA_WEBHOOK_URL", "https://push.example.com/ciba"))
		if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "OAUTH2_CIBA_NOTIFIER=webhook") {
			t.Fatalf("warnings = %q", c.Warnings)
		}
	})
	t.Run("the certificate header format follows the header name", func(t *testing.T) {
		for header, format := range map[string]string{"Client-Cert": "rfc9440", "x-forwarded-client-cert": "xfcc", "X-SSL-Client-Cert": "pem"} {
			c := mustLoad(t, "", false, with(prodEnv(), "OAUTH2_CLIENT_CERT_HEADER", header, "OAUTH2_TRUSTED_PROXIES", "10.0.0.1"))
			if c.TLS.ClientCertHeaderFormat != format || !c.TLS.ClientCertificates() {
				t.Errorf("%s: format %q, certificates %v; want %s", header, c.TLS.ClientCertHeaderFormat, c.TLS.ClientCertificates(), format)
			}
		}
	})
	t.Run("TLS asks for client certificates unless told not to", func(t *testing.T) {
		tls := with(prodEnv(), "OAUTH2_TLS_CERT_FILE", "tls.crt", "OAUTH2_TLS_KEY_FILE", "tls.key")
		if c := mustLoad(t, "", false, tls); !c.TLS.ClientCerts || !c.TLS.ClientCertificates() {
			t.Fatalf("TLSClientCerts %v, ClientCertificates %v", c.TLS.ClientCerts, c.TLS.ClientCertificates())
		}
		if c := mustLoad(t, "", false, with(tls, "OAUTH2_TLS_CLIENT_CERTS", "0")); c.TLS.ClientCertificates() {
			t.Fatal("client certificates on with OAUTH2_TLS_CLIENT_CERTS=0")
		}
		if c := mustLoad(t, "", false, prodEnv()); c.TLS.ClientCertificates() {
			t.Fatal("client certificates on without TLS or a proxy header")
		}
	})
	t.Run("shutdown drains for five seconds unless told otherwise", func(t *testing.T) {
		if c := mustLoad(t, "", false, prodEnv()); c.Server.ShutdownDrain != 5*time.Second {
			t.Fatalf("ShutdownDrain = %v, want 5s", c.Server.ShutdownDrain)
		}
	})
	t.Run("no warnings when nothing was relaxed", func(t *testing.T) {
		if c := mustLoad(t, "", false, prodEnv()); len(c.Warnings) != 0 {
			t.Fatalf("warnings = %q", c.Warnings)
		}
	})
}

// setting is one configuration knob, reachable as OAUTH2_<KEY> in the
// environment and as <key> in the YAML file.
type setting struct {
	env      string
	envValue string
	yaml     string // the YAML value
	got      func(c *config.Config) any
	want     any
	// needs are variables (name, value, ...) without which the setting
	// is refused, set in the environment of both subtests.
	needs []string
}

func settings() []setting {
	otherKEK := bytes.Repeat([]byte{0x17}, 32)
	return []setting{
		{env: "OAUTH2_ADDR", envValue: ":9443", yaml: `":9443"`, got: func(c *config.Config) any { return c.Server.Addr }, want: ":9443"},
		{env: "OAUTH2_ISSUER", envValue: "https://login.example.org", yaml: "https://login.example.org", got: func(c *config.Config) any { return c.Server.Issuer }, want: "https://login.example.org"},
		{env: "OAUTH2_DATABASE_URL", envValue: "postgres://app@db:5432/oauth2", yaml: "postgres://app@db:5432/oauth2", got: func(c *config.Config) any { return c.Store.URL }, want: "postgres://app@db:5432/oauth2"},
		{env: "OAUTH2_SEED_USERNAME", envValue: "root-admin", yaml: "root-admin", got: func(c *config.Config) any { return c.Seed.Username }, want: "root-admin"},
		{env: "OAUTH2_SEED_PASSWORD", envValue: "another-long-password", yaml: "another-long-password", got: func(c *config.Config) any { return c.Seed.Password }, want: "another-long-password"},
		{env: "OAUTH2_REGISTRATION_TOKEN", envValue: "reg-token-0123456789abcdef", yaml: "reg-token-0123456789abcdef", got: func(c *config.Config) any { return c.Registration.Token }, want: "reg-token-0123456789abcdef"},
		{env: "OAUTH2_REDIS_URL", envValue: "redis://cache:6379/0", yaml: "redis://cache:6379/0", got: func(c *config.Config) any { return c.Redis.URL }, want: "redis://cache:6379/0"},
		{env: "OAUTH2_KEY_ENCRYPTION_KEY", envValue: base64.StdEncoding.EncodeToString(otherKEK), yaml: base64.StdEncoding.EncodeToString(otherKEK), got: func(c *config.Config) any { return c.Keys.EncryptionKey }, want: otherKEK},
		{env: "OAUTH2_DEBUG_ADDR", envValue: "127.0.0.1:6060", yaml: `"127.0.0.1:6060"`, got: func(c *config.Config) any { return c.Telemetry.DebugAddr }, want: "127.0.0.1:6060"},
		{env: "OAUTH2_LOG_LEVEL", envValue: "debug", yaml: "debug", got: func(c *config.Config) any { return c.Telemetry.LogLevel }, want: slog.LevelDebug},
		{env: "OAUTH2_TRUSTED_PROXIES", envValue: "10.0.0.0/8, 192.168.1.1", yaml: "[10.0.0.0/8, 192.168.1.1]", got: func(c *config.Config) any { return c.Server.TrustedProxies }, want: prefixes("10.0.0.0/8", "192.168.1.1/32")},
		{env: "OAUTH2_SCOPE_ALLOWLIST", envValue: "openid,profile api:read", yaml: "[openid, profile, 'api:read']", got: func(c *config.Config) any { return c.Registration.ScopeAllowList }, want: []string{"openid", "profile", "api:read"}},
		{env: "OAUTH2_ACCESS_TOKEN_ALG", envValue: "EdDSA", yaml: "EdDSA", got: func(c *config.Config) any { return c.Tokens.AccessTokenAlg }, want: "EdDSA"},
		{env: "OAUTH2_ACCESS_TOKEN_TTL", envValue: "15m", yaml: "15m", got: func(c *config.Config) any { return c.Tokens.AccessTokenTTL }, want: 15 * time.Minute},
		{env: "OAUTH2_REFRESH_TOKEN_TTL", envValue: "720h", yaml: "720h", got: func(c *config.Config) any { return c.Tokens.RefreshTokenTTL }, want: 720 * time.Hour},
		{env: "OAUTH2_ID_TOKEN_TTL", envValue: "30m", yaml: "30m", got: func(c *config.Config) any { return c.Tokens.IDTokenTTL }, want: 30 * time.Minute},
		{env: "OAUTH2_CODE_TTL", envValue: "2m", yaml: "2m", got: func(c *config.Config) any { return c.Tokens.CodeTTL }, want: 2 * time.Minute},
		{env: "OAUTH2_SESSION_TTL", envValue: "8h", yaml: "8h", got: func(c *config.Config) any { return c.Tokens.SessionTTL }, want: 8 * time.Hour},
		{env: "OAUTH2_DB_STATEMENT_TIMEOUT", envValue: "2500ms", yaml: "2500ms", got: func(c *config.Config) any { return c.Store.StatementTimeout }, want: 2500 * time.Millisecond},
		{env: "OAUTH2_DB_MAX_CONNS", envValue: "50", yaml: "50", got: func(c *config.Config) any { return c.Store.MaxConns }, want: 50},
		{env: "OAUTH2_DB_MIN_CONNS", envValue: "5", yaml: "5", got: func(c *config.Config) any { return c.Store.MinConns }, want: 5},
		{env: "OAUTH2_MAX_BODY_BYTES", envValue: "65536", yaml: "65536", got: func(c *config.Config) any { return c.Server.MaxBodyBytes }, want: int64(65536)},
		{env: "OAUTH2_DEV", envValue: "true", yaml: "true", got: func(c *config.Config) any { return c.Dev }, want: true},
		{env: "OAUTH2_ADMIN_TOKEN", envValue: "admin-token-0123456789abcdef", yaml: "admin-token-0123456789abcdef", got: func(c *config.Config) any { return c.Admin.Token }, want: "admin-token-0123456789abcdef"},
		{env: "OAUTH2_KEY_ROTATION_INTERVAL", envValue: "720h", yaml: "720h", got: func(c *config.Config) any { return c.Keys.RotationInterval }, want: 720 * time.Hour},
		{env: "OAUTH2_KEY_PROPAGATION_DELAY", envValue: "30m", yaml: "30m", got: func(c *config.Config) any { return c.Keys.PropagationDelay }, want: 30 * time.Minute},
		{env: "OAUTH2_KEY_GRACE_PERIOD", envValue: "48h", yaml: "48h", got: func(c *config.Config) any { return c.Keys.GracePeriod }, want: 48 * time.Hour},
		{env: "OAUTH2_JANITOR_INTERVAL", envValue: "30s", yaml: "30s", got: func(c *config.Config) any { return c.Store.JanitorInterval }, want: 30 * time.Second},
		{env: "OAUTH2_SHUTDOWN_DRAIN", envValue: "12s", yaml: "12s", got: func(c *config.Config) any { return c.Server.ShutdownDrain }, want: 12 * time.Second},
		{env: "OAUTH2_REQUIRE_PAR", envValue: "true", yaml: "true", got: func(c *config.Config) any { return c.Protocol.RequirePAR }, want: true},
		{env: "OAUTH2_DPOP_NONCE", envValue: "1", yaml: "true", got: func(c *config.Config) any { return c.Protocol.DPoPNonce }, want: true},
		{env: "OAUTH2_AUTHORIZATION_DETAILS_TYPES", envValue: "payment_initiation,account_information", yaml: "[payment_initiation, account_information]",
			got:  func(c *config.Config) any { return c.Protocol.AuthorizationDetailsTypes },
			want: []string{"payment_initiation", "account_information"}},
		{env: "OAUTH2_RATE_LIMIT", envValue: "false", yaml: "false", got: func(c *config.Config) any { return c.RateLimit.Enabled }, want: false},
		{env: "OAUTH2_RATE_LIMIT_TOKEN", envValue: "20/s:40", yaml: `"20/s:40"`, got: func(c *config.Config) any { return c.RateLimit.Token }, want: config.Rate{Count: 20, Per: time.Second, Burst: 40}},
		{env: "OAUTH2_RATE_LIMIT_USERINFO", envValue: "30/s:60", yaml: `"30/s:60"`, got: func(c *config.Config) any { return c.RateLimit.UserInfo }, want: config.Rate{Count: 30, Per: time.Second, Burst: 60}},
		{env: "OAUTH2_RATE_LIMIT_INTERACTIVE", envValue: "5/s:10", yaml: `"5/s:10"`, got: func(c *config.Config) any { return c.RateLimit.Interactive }, want: config.Rate{Count: 5, Per: time.Second, Burst: 10}},
		{env: "OAUTH2_RATE_LIMIT_REGISTRATION", envValue: "2/s:4", yaml: `"2/s:4"`, got: func(c *config.Config) any { return c.RateLimit.Registration }, want: config.Rate{Count: 2, Per: time.Second, Burst: 4}},
		{env: "OAUTH2_RATE_LIMIT_FAILURES", envValue: "3/m:6", yaml: `"3/m:6"`, got: func(c *config.Config) any { return c.RateLimit.Failures }, want: config.Rate{Count: 3, Per: time.Minute, Burst: 6}},
		{env: "OAUTH2_RATE_LIMIT_REDIS_FAILURE", envValue: "closed", yaml: "closed", got: func(c *config.Config) any { return c.RateLimit.RedisFailure }, want: "closed"},
		{env: "OAUTH2_EVENT_SINKS", envValue: "log,none", yaml: "[log, none]", got: func(c *config.Config) any { return c.Events.Sinks }, want: []string{"log", "none"}},
		{env: "OAUTH2_NATS_URL", envValue: "nats://bus:4222", yaml: "nats://bus:4222", got: func(c *config.Config) any { return c.Events.NATSURL }, want: "nats://bus:4222"},
		{env: "OAUTH2_EVENT_WEBHOOK_URL", envValue: "https://hooks.example/in", yaml: "https://hooks.example/in", got: func(c *config.Config) any { return c.Events.WebhookURL }, want: "https://hooks.example/in"},
		{env: "OAUTH2_EVENT_WEBHOOK_SECRET", envValue: "webhook-secret-0123456789", yaml: "webhook-secret-0123456789", got: func(c *config.Config) any { return c.Events.WebhookSecret }, want: "webhook-secret-0123456789"},
		{env: "OAUTH2_CIBA_NOTIFIER", envValue: "log", yaml: "log", got: func(c *config.Config) any { return c.CIBA.Notifier }, want: "log"},
		{env: "OAUTH2_CIBA_WEBHOOK_URL", envValue: "https://push.example/ciba", yaml: "https://push.example/ciba", got: func(c *config.Config) any { return c.CIBA.WebhookURL }, want: "https://push.example/ciba"},
		{env: "OAUTH2_CIBA_WEBHOOK_SECRET", envValue: "ciba-secret-0123456789", yaml: "ciba-secret-0123456789", got: func(c *config.Config) any { return c.CIBA.WebhookSecret }, want: "ciba-secret-0123456789"},
		{env: "OAUTH2_TLS_CERT_FILE", envValue: "/etc/oauth2/tls.crt", yaml: "/etc/oauth2/tls.crt", got: func(c *config.Config) any { return c.TLS.CertFile }, want: "/etc/oauth2/tls.crt",
			needs: []string{"OAUTH2_TLS_KEY_FILE", "/etc/oauth2/tls.key"}},
		{env: "OAUTH2_TLS_KEY_FILE", envValue: "/etc/oauth2/tls.key", yaml: "/etc/oauth2/tls.key", got: func(c *config.Config) any { return c.TLS.KeyFile }, want: "/etc/oauth2/tls.key",
			needs: []string{"OAUTH2_TLS_CERT_FILE", "/etc/oauth2/tls.crt"}},
		{env: "OAUTH2_TLS_CLIENT_CERTS", envValue: "0", yaml: "false", got: func(c *config.Config) any { return c.TLS.ClientCerts }, want: false},
		{env: "OAUTH2_TLS_CLIENT_CA_FILE", envValue: "/etc/oauth2/client-ca.pem", yaml: "/etc/oauth2/client-ca.pem", got: func(c *config.Config) any { return c.TLS.ClientCAFile }, want: "/etc/oauth2/client-ca.pem",
			needs: []string{"OAUTH2_TLS_CERT_FILE", "/etc/oauth2/tls.crt", "OAUTH2_TLS_KEY_FILE", "/etc/oauth2/tls.key"}},
		{env: "OAUTH2_CLIENT_CERT_HEADER", envValue: "X-Client-Cert", yaml: "X-Client-Cert", got: func(c *config.Config) any { return c.TLS.ClientCertHeader }, want: "X-Client-Cert",
			needs: []string{"OAUTH2_TRUSTED_PROXIES", "10.0.0.0/8"}},
		{env: "OAUTH2_CLIENT_CERT_HEADER_FORMAT", envValue: "rfc9440", yaml: "rfc9440", got: func(c *config.Config) any { return c.TLS.ClientCertHeaderFormat }, want: "rfc9440",
			needs: []string{"OAUTH2_CLIENT_CERT_HEADER", "X-SSL-Cert", "OAUTH2_TRUSTED_PROXIES", "10.0.0.0/8"}},
		{env: "OAUTH2_OTLP_ENDPOINT", envValue: "http://collector:4318", yaml: "http://collector:4318", got: func(c *config.Config) any { return c.Telemetry.OTLPEndpoint }, want: "http://collector:4318"},
		{env: "OAUTH2_REQUEST_URI_HOSTS", envValue: "rp.example.com, RP2.example.org:8443,[2001:db8::1]:9443", yaml: "[rp.example.com, 'RP2.example.org:8443', '[2001:db8::1]:9443']",
			got:  func(c *config.Config) any { return c.Protocol.RequestURIHosts },
			want: []string{"rp.example.com", "rp2.example.org:8443", "[2001:db8::1]:9443"}},
		{env: "OAUTH2_OUTBOUND_PRIVATE_NETWORKS", envValue: "10.20.0.0/16, fd00::5", yaml: "['10.20.0.0/16', 'fd00::5']",
			got:  func(c *config.Config) any { return c.Outbound.PrivateNetworks },
			want: prefixes("10.20.0.0/16", "fd00::5/128")},
		{env: "OAUTH2_ALLOW_INSECURE_ISSUER", envValue: "1", yaml: "true", got: func(c *config.Config) any { return c.Server.AllowInsecureIssuer }, want: true},
		{env: "OAUTH2_ALLOW_LOCAL_OUTBOUND", envValue: "1", yaml: "true", got: func(c *config.Config) any { return c.Outbound.AllowLocal }, want: true},
		{env: "OAUTH2_TRUSTED_ISSUERS", envValue: `[{"issuer":"https://p.example","jwks_uri":"https://p.example/jwks"}]`, yaml: "[{issuer: https://p.example, jwks_uri: https://p.example/jwks}]",
			got:  func(c *config.Config) any { return c.Protocol.TrustedIssuers },
			want: []config.TrustedIssuer{{Issuer: "https://p.example", JWKSURI: "https://p.example/jwks"}}},
	}
}

// baseFor is a valid production environment with a seeded admin, minus the
// variable under test.
func baseFor(envKey string) map[string]string {
	m := with(prodEnv(), "OAUTH2_SEED_USERNAME", "admin", "OAUTH2_SEED_PASSWORD", "a-long-random-password")
	delete(m, envKey)
	return m
}

func TestLoadSettings(t *testing.T) {
	for _, s := range settings() {
		yamlKey := strings.ToLower(strings.TrimPrefix(s.env, "OAUTH2_"))
		t.Run(s.env+" in the environment overrides the default", func(t *testing.T) {
			c := mustLoad(t, "", false, with(with(baseFor(s.env), s.needs...), s.env, s.envValue))
			if got := s.got(c); !reflect.DeepEqual(got, s.want) {
				t.Fatalf("%s=%q gave %v, want %v", s.env, s.envValue, got, s.want)
			}
		})
		t.Run(yamlKey+" in the file sets the same setting", func(t *testing.T) {
			file := writeFile(t, yamlKey+": "+s.yaml+"\n")
			c := mustLoad(t, file, false, with(baseFor(s.env), s.needs...))
			if got := s.got(c); !reflect.DeepEqual(got, s.want) {
				t.Fatalf("%s: %s gave %v, want %v", yamlKey, s.yaml, got, s.want)
			}
		})
	}
	t.Run("environment wins over the file", func(t *testing.T) {
		file := writeFile(t, "issuer: https://from-file.example.com\nlog_level: warn\n")
		c := mustLoad(t, file, false, with(prodEnv(), "OAUTH2_ISSUER", "https://from-env.example.com"))
		if c.Server.Issuer != "https://from-env.example.com" {
			t.Errorf("Issuer = %q, want the environment's", c.Server.Issuer)
		}
		if c.Telemetry.LogLevel != slog.LevelWarn {
			t.Errorf("LogLevel = %v, want the file's", c.Telemetry.LogLevel)
		}
	})
	t.Run("OAUTH2_CONFIG names the file", func(t *testing.T) {
		file := writeFile(t, "log_level: error\n")
		c := mustLoad(t, "", false, with(prodEnv(), "OAUTH2_CONFIG", file))
		if c.Telemetry.LogLevel != slog.LevelError {
			t.Fatalf("LogLevel = %v; OAUTH2_CONFIG was not read", c.Telemetry.LogLevel)
		}
	})
	t.Run("file argument wins over OAUTH2_CONFIG", func(t *testing.T) {
		file := writeFile(t, "log_level: error\n")
		c := mustLoad(t, file, false, with(prodEnv(), "OAUTH2_CONFIG", filepath.Join(t.TempDir(), "missing.yaml")))
		if c.Telemetry.LogLevel != slog.LevelError {
			t.Fatalf("LogLevel = %v", c.Telemetry.LogLevel)
		}
	})
	t.Run("missing file is an error naming it", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing.yaml")
		_, err := config.Load(missing, false, env(prodEnv()))
		if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
			t.Fatalf("Load = %v, want an error naming the file", err)
		}
	})
	t.Run("the process environment is not read", func(t *testing.T) {
		t.Setenv("OAUTH2_LOG_LEVEL", "debug")
		t.Setenv("OAUTH2_ISSUER", "http://not-loopback.example.com")
		c := mustLoad(t, "", false, prodEnv())
		if c.Telemetry.LogLevel != slog.LevelInfo || c.Server.Issuer != "https://id.example.com" {
			t.Fatalf("Load read the process environment: LogLevel %v, Issuer %q", c.Telemetry.LogLevel, c.Server.Issuer)
		}
	})
}

func TestLoadRefusesUnknownFileKeys(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		key  string
	}{
		{name: "misspelled key", yaml: "isuer: https://id.example.com\n", key: "isuer"},
		{name: "environment-style key", yaml: "OAUTH2_ISSUER: https://id.example.com\n", key: "OAUTH2_ISSUER"},
		{name: "field name instead of key", yaml: "KeyEncryptionKey: abc\n", key: "KeyEncryptionKey"},
		{name: "warnings are not settable", yaml: "warnings: [x]\n", key: "warnings"},
		{name: "unknown key after known ones", yaml: "log_level: debug\nscope_allow_list: [openid]\n", key: "scope_allow_list"},
		{name: "key given twice", yaml: "log_level: debug\nlog_level: warn\n", key: "log_level"},
		{name: "unknown field of a trusted issuer", yaml: "trusted_issuers: [{issuer: https://p.example, jwks_url: https://p.example/jwks}]\n", key: "jwks_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, tt.yaml)
			c, err := config.Load(file, false, env(prodEnv()))
			if err == nil {
				t.Fatalf("Load accepted unknown key %q: %+v", tt.key, c)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
		})
	}
}

func TestLoadRefusesBadValues(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		value string
	}{
		{name: "duration without unit", env: "OAUTH2_ACCESS_TOKEN_TTL", value: "3600"},
		{name: "duration in words", env: "OAUTH2_REFRESH_TOKEN_TTL", value: "thirty days"},
		{name: "duration with a day unit", env: "OAUTH2_ID_TOKEN_TTL", value: "1d"},
		{name: "code lifetime typo", env: "OAUTH2_CODE_TTL", value: "1mn"},
		{name: "session lifetime empty unit", env: "OAUTH2_SESSION_TTL", value: "h"},
		{name: "statement timeout with a comma", env: "OAUTH2_DB_STATEMENT_TIMEOUT", value: "1,5s"},
		{name: "shutdown drain without unit", env: "OAUTH2_SHUTDOWN_DRAIN", value: "5"},
		{name: "connection count in words", env: "OAUTH2_DB_MAX_CONNS", value: "many"},
		{name: "connection count as a decimal", env: "OAUTH2_DB_MIN_CONNS", value: "2.5"},
		{name: "body limit with a unit", env: "OAUTH2_MAX_BODY_BYTES", value: "1MB"},
		{name: "dev flag as yes", env: "OAUTH2_DEV", value: "yes"},
		{name: "DPoP nonce flag as on", env: "OAUTH2_DPOP_NONCE", value: "on"},
		{name: "insecure issuer opt-in as yes", env: "OAUTH2_ALLOW_INSECURE_ISSUER", value: "yes"},
		{name: "local outbound opt-in as sure", env: "OAUTH2_ALLOW_LOCAL_OUTBOUND", value: "sure"},
		{name: "TLS client certificate flag as request", env: "OAUTH2_TLS_CLIENT_CERTS", value: "request"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" names the variable", func(t *testing.T) {
			c, err := config.Load("", false, env(with(prodEnv(), tt.env, tt.value)))
			if err == nil {
				t.Fatalf("Load accepted %s=%q: %+v", tt.env, tt.value, c)
			}
			if !strings.Contains(err.Error(), tt.env) || !strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q does not name %s and its value %q", err, tt.env, tt.value)
			}
		})
	}
	t.Run("every unreadable value is named at once", func(t *testing.T) {
		_, err := config.Load("", false, env(with(prodEnv(), "OAUTH2_CODE_TTL", "1mn", "OAUTH2_DB_MAX_CONNS", "many", "OAUTH2_RATE_LIMIT", "sometimes")))
		if err == nil {
			t.Fatal("Load accepted them")
		}
		for _, want := range []string{`OAUTH2_CODE_TTL="1mn"`, `OAUTH2_DB_MAX_CONNS="many"`, `OAUTH2_RATE_LIMIT="sometimes"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
	})
	t.Run("a refused key-encryption key is not echoed", func(t *testing.T) {
		const leaked = "c2hvcnQtYnV0LXNlY3JldA=="
		_, err := config.Load("", false, env(with(prodEnv(), "OAUTH2_KEY_ENCRYPTION_KEY", leaked)))
		if err == nil || strings.Contains(err.Error(), leaked) {
			t.Fatalf("Load = %v, want a refusal that does not show the key", err)
		}
	})
	t.Run("bad duration in the file names the file and line", func(t *testing.T) {
		file := writeFile(t, "log_level: info\naccess_token_ttl: forever\n")
		_, err := config.Load(file, false, env(prodEnv()))
		if err == nil {
			t.Fatal("Load accepted access_token_ttl: forever")
		}
		for _, want := range []string{file, "line 2", "forever"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
}
