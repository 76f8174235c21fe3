package core

import (
	"bytes"
	"strings"
	"testing"

	"oauth2-server.dev/core/secret"
)

func TestNewRefusesUnknownSigningAlgorithms(t *testing.T) {
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	secrets, _ := secret.NewKeyed(bytes.Repeat([]byte{0x33}, 32))
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // part of the error; "" when New succeeds
	}{
		{name: "the defaults", cfg: Config{}},
		{name: "EdDSA access tokens and PS256 ID tokens", cfg: Config{AccessTokenAlg: "EdDSA", IDTokenAlg: "PS256"}},
		{name: "HS256 access tokens", cfg: Config{AccessTokenAlg: "HS256"}, wantErr: `AccessTokenAlg "HS256": want one of RS256, ES256, PS256, EdDSA`},
		{name: "lower-case es256 ID tokens", cfg: Config{IDTokenAlg: "es256"}, wantErr: `IDTokenAlg "es256"`},
		{name: "unsigned access tokens", cfg: Config{AccessTokenAlg: "none"}, wantErr: `AccessTokenAlg "none"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Issuer = "https://id.example.com"
			tt.cfg = withTestSettings(tt.cfg)
			_, err := New(tt.cfg, Deps{Store: newTestStore(), Keys: keys, Secrets: secrets})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("New: %v, want error %q", err, tt.wantErr)
			}
		})
	}
}
