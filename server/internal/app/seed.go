package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// DemoClient is a client dev mode registers so a new user can try every
// grant at once.
type DemoClient struct {
	ID, Secret, Description string
	Metadata                string
}

// DemoClients are the clients dev mode seeds. Their secrets are fixed and
// public: dev mode only.
var DemoClients = []DemoClient{
	{
		ID: "demo-web", Secret: "demo-web-secret",
		Description: "confidential web app: authorization_code + refresh_token, client_secret_basic",
		Metadata: `{"client_name":"Demo Web App","redirect_uris":["http://localhost:8081/callback","http://127.0.0.1:8081/callback"],
			"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"client_secret_basic"}`,
	},
	{
		ID:          "demo-native",
		Description: "public native app: authorization_code + PKCE, any loopback port",
		Metadata: `{"client_name":"Demo Native App","application_type":"native","redirect_uris":["http://127.0.0.1/callback"],
			"grant_types":["authorization_code","refresh_token"],"token_endpoint_auth_method":"none"}`,
	},
	{
		ID: "demo-service", Secret: "demo-service-secret",
		Description: "service: client_credentials, client_secret_basic",
		Metadata: `{"client_name":"Demo Service","grant_types":["client_credentials"],
			"token_endpoint_auth_method":"client_secret_basic","scope":"api:read api:write"}`,
	},
}

// DemoCIBAClient is the client dev mode seeds for backchannel
// authentication when CIBA is on (OAUTH2_CIBA_NOTIFIER is not none).
var DemoCIBAClient = DemoClient{
	ID: "demo-ciba", Secret: "demo-ciba-secret",
	Description: "backchannel authentication (CIBA, poll mode) + refresh_token, client_secret_basic",
	Metadata: `{"client_name":"Demo Kiosk","grant_types":["urn:openid:params:grant-type:ciba","refresh_token"],
		"backchannel_token_delivery_mode":"poll","token_endpoint_auth_method":"client_secret_basic"}`,
}

// Seed creates the configured seed user if absent and, in dev mode, the
// demo clients, and prints what a new user needs to sign in to out.
func (a *App) Seed(ctx context.Context, out io.Writer) error {
	cfg := a.Config
	if cfg.Seed.Username != "" {
		// A user that exists is left as it is, and no password is hashed
		// for it: hashing would cost every start the time of a sign-in.
		_, err := a.Store.GetUserByUsername(ctx, ports.DefaultTenant, cfg.Seed.Username)
		if errors.Is(err, ports.ErrNotFound) {
			err = a.Provider.CreateUser(ctx, &ports.User{
				Username: cfg.Seed.Username, Name: "Demo User", GivenName: "Demo", FamilyName: "User",
				Email: cfg.Seed.Username + "@example.com", EmailVerified: true,
			}, cfg.Seed.Password)
		}
		if err != nil && !errors.Is(err, ports.ErrConflict) {
			return fmt.Errorf("seed user: %w", err)
		}
	}
	if !cfg.Dev {
		return nil
	}
	demos := DemoClients
	if a.Provider.CIBAEnabled() {
		demos = append(slices.Clip(demos), DemoCIBAClient)
	}
	for _, c := range demos {
		if _, err := a.Provider.EnsureClient(ctx, c.ID, c.Secret, []byte(c.Metadata)); err != nil {
			return fmt.Errorf("seed client %s: %w", c.ID, err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n  oauth2-server dev mode: not for real users\n\n")
	fmt.Fprintf(&b, "  issuer      %s\n", cfg.Server.Issuer)
	fmt.Fprintf(&b, "  discovery   %s/.well-known/openid-configuration\n", cfg.Server.Issuer)
	fmt.Fprintf(&b, "  database    %s\n", cfg.Store.RedactedURL())
	fmt.Fprintf(&b, "  user        %s / %s\n", cfg.Seed.Username, cfg.Seed.Password)
	fmt.Fprintf(&b, "  account     %s/account (the applications the user allowed)\n", cfg.Server.Issuer)
	for _, c := range demos {
		if c.Secret != "" {
			fmt.Fprintf(&b, "  client      %s / %s  (%s)\n", c.ID, c.Secret, c.Description)
		} else {
			fmt.Fprintf(&b, "  client      %s  (%s)\n", c.ID, c.Description)
		}
	}
	if cfg.Registration.Token != "" {
		fmt.Fprintf(&b, "  register    POST %s/oauth/register with Authorization: Bearer %s\n", cfg.Server.Issuer, cfg.Registration.Token)
	}
	if cfg.Admin.Token != "" {
		fmt.Fprintf(&b, "  admin UI    %s/admin (sign in with the admin token)\n", cfg.Server.Issuer)
		fmt.Fprintf(&b, "  admin API   %s/admin/api/keys with Authorization: Bearer %s\n", cfg.Server.Issuer, cfg.Admin.Token)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(&b, "\n  WARNING: %s\n", w)
	}
	b.WriteString("\n")
	_, err := io.WriteString(out, b.String())
	return err
}

// DevRegistrationToken gives dev mode an initial access token or admin
// token when none is configured, so registration and the admin API can be
// tried at once.
func DevRegistrationToken() string { return secret.Random(24) }
