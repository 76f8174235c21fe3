package core

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/core/secret"
)

// withTestSettings fills in the settings the server's configuration
// supplies, where a test left them out: the configuration's defaults.
func withTestSettings(cfg Config) Config {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.AccessTokenTTL, time.Hour}, {&cfg.RefreshTokenTTL, 30 * 24 * time.Hour},
		{&cfg.IDTokenTTL, time.Hour}, {&cfg.CodeTTL, time.Minute}, {&cfg.SessionTTL, 24 * time.Hour},
		{&cfg.KeyGracePeriod, 24 * time.Hour},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.AccessTokenAlg == "" {
		cfg.AccessTokenAlg = "ES256"
	}
	return cfg
}

func TestNewRefusesMissingSettings(t *testing.T) {
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	secrets, _ := secret.NewKeyed(bytes.Repeat([]byte{0x33}, 32))
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string // part of the error; "" when New succeeds
	}{
		{name: "every setting given is accepted", change: func(*Config) {}},
		{name: "no ID token algorithm takes RS256", change: func(c *Config) { c.IDTokenAlg = "" }},
		{name: "no access token lifetime", change: func(c *Config) { c.AccessTokenTTL = 0 }, wantErr: "AccessTokenTTL must be positive"},
		{name: "a negative refresh token lifetime", change: func(c *Config) { c.RefreshTokenTTL = -time.Hour }, wantErr: "RefreshTokenTTL"},
		{name: "no code lifetime", change: func(c *Config) { c.CodeTTL = 0 }, wantErr: "CodeTTL"},
		{name: "no session lifetime", change: func(c *Config) { c.SessionTTL = 0 }, wantErr: "SessionTTL"},
		{name: "no key grace period", change: func(c *Config) { c.KeyGracePeriod = 0 }, wantErr: "KeyGracePeriod"},
		{name: "a negative propagation delay", change: func(c *Config) { c.KeyPropagationDelay = -time.Second }, wantErr: "must not be negative"},
		{name: "no access token algorithm", change: func(c *Config) { c.AccessTokenAlg = "" }, wantErr: "AccessTokenAlg is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := withTestSettings(Config{Issuer: "https://id.example.com"})
			tt.change(&cfg)
			p, err := New(cfg, Deps{Store: newTestStore(), Keys: keys, Secrets: secrets})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if p.cfg.IDTokenAlg == "" || p.cfg.AuthRequestTTL <= 0 || p.cfg.Tenant == "" {
					t.Fatalf("engine defaults not filled in: %+v", p.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
