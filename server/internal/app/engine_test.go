package app

import (
	"encoding/base64"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core"
	"oauth2-server.dev/ratelimit"
)

func TestEngineConfigCarriesEverySetting(t *testing.T) {
	vars := map[string]string{
		"OAUTH2_ISSUER":                      "https://id.example.com/",
		"OAUTH2_KEY_ENCRYPTION_KEY":          base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"OAUTH2_ACCESS_TOKEN_ALG":            "EdDSA",
		"OAUTH2_ACCESS_TOKEN_TTL":            "15m",
		"OAUTH2_REFRESH_TOKEN_TTL":           "48h",
		"OAUTH2_ID_TOKEN_TTL":                "30m",
		"OAUTH2_CODE_TTL":                    "2m",
		"OAUTH2_SESSION_TTL":                 "8h",
		"OAUTH2_KEY_ROTATION_INTERVAL":       "720h",
		"OAUTH2_KEY_PROPAGATION_DELAY":       "30m",
		"OAUTH2_KEY_GRACE_PERIOD":            "48h",
		"OAUTH2_REGISTRATION_TOKEN":          "reg-token-0123456789abcdef",
		"OAUTH2_SCOPE_ALLOWLIST":             "openid,api:read",
		"OAUTH2_REQUIRE_PAR":                 "1",
		"OAUTH2_DPOP_NONCE":                  "1",
		"OAUTH2_TRUSTED_ISSUERS":             `[{"issuer":"https://p.example","jwks_uri":"https://p.example/jwks","clients":["svc"]}]`,
		"OAUTH2_REQUEST_URI_HOSTS":           "RP.example.com:8443",
		"OAUTH2_AUTHORIZATION_DETAILS_TYPES": "payment_initiation",
		"OAUTH2_OUTBOUND_PRIVATE_NETWORKS":   "10.0.0.0/8",
		"OAUTH2_CLIENT_CERT_HEADER":          "Client-Cert",
		"OAUTH2_TRUSTED_PROXIES":             "10.0.0.1",
	}
	cfg, err := config.Load("", false, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	got := engineConfig(cfg, nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{name: "issuer without its trailing slash", got: got.Issuer, want: "https://id.example.com"},
		{name: "access token algorithm", got: got.AccessTokenAlg, want: "EdDSA"},
		{name: "lifetimes", got: []time.Duration{got.AccessTokenTTL, got.RefreshTokenTTL, got.IDTokenTTL, got.CodeTTL, got.SessionTTL},
			want: []time.Duration{15 * time.Minute, 48 * time.Hour, 30 * time.Minute, 2 * time.Minute, 8 * time.Hour}},
		{name: "key schedule", got: []time.Duration{got.KeyRotationInterval, got.KeyPropagationDelay, got.KeyGracePeriod},
			want: []time.Duration{720 * time.Hour, 30 * time.Minute, 48 * time.Hour}},
		{name: "registration token", got: got.RegistrationToken, want: "reg-token-0123456789abcdef"},
		{name: "scope allow-list", got: got.ScopeAllowList, want: []string{"openid", "api:read"}},
		{name: "PAR required", got: got.RequirePAR, want: true},
		{name: "DPoP nonces", got: got.DPoPNonce, want: true},
		{name: "trusted issuers", got: got.TrustedIssuers, want: []core.TrustedIssuer{{Issuer: "https://p.example", JWKSURI: "https://p.example/jwks", Clients: []string{"svc"}}}},
		{name: "request_uri hosts in lower case", got: got.RequestURIHosts, want: []string{"rp.example.com:8443"}},
		{name: "authorization details types", got: got.AuthorizationDetailsTypes, want: []string{"payment_initiation"}},
		{name: "outbound private networks, parsed", got: got.OutboundPrivateNetworks, want: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{name: "client certificates from the proxy header", got: got.ClientCertificates, want: true},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Fatalf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

func TestRateLimitsFollowTheConfiguration(t *testing.T) {
	t.Run("the default budgets are the rate limiter's documented defaults", func(t *testing.T) {
		if got, want := rateLimits(config.Defaults().RateLimit), ratelimit.DefaultLimits(); got != want {
			t.Fatalf("configured defaults %+v, rate limiter's %+v", got, want)
		}
	})
	t.Run("a configured budget replaces its default alone", func(t *testing.T) {
		rl := config.Defaults().RateLimit
		rl.Failures = config.Rate{Count: 3, Per: time.Minute, Burst: 6}
		got, want := rateLimits(rl), ratelimit.DefaultLimits()
		want.Failures = ratelimit.Limit{Rate: 3, Per: time.Minute, Burst: 6}
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
}
