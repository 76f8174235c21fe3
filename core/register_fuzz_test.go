package core

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"oauth2-server.dev/ports"
)

// FuzzRegisterClient feeds arbitrary documents to dynamic client
// registration (RFC 7591 §3). A refusal is invalid_client_metadata or
// invalid_redirect_uri (§3.2.2), never another error or a panic; a
// registered client has only redirect URIs registration accepts and a
// scope of valid syntax, its response encodes as JSON, and the metadata
// stored for it passes validation again with the same outcome.
func FuzzRegisterClient(f *testing.F) {
	for _, body := range []string{
		`{"redirect_uris":["https://app.example.com/cb"],"client_name":"App"}`,
		`{"redirect_uris":["http://127.0.0.1/cb"],"application_type":"native","token_endpoint_auth_method":"none"}`,
		`{"redirect_uris":["com.example.app:/cb"],"application_type":"native","token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`,
		`{"grant_types":["client_credentials"],"scope":"api:read api:write"}`,
		`{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_method":"none"}`,
		`{"redirect_uris":["https://app.example.com/cb"],"response_types":["code id_token"],"grant_types":["authorization_code","implicit"]}`,
		`{"redirect_uris":["https://app.example.com/cb"],"post_logout_redirect_uris":["https://app.example.com/bye"],"backchannel_logout_uri":"https://app.example.com/bc"}`,
		`{"redirect_uris":["https://app.example.com/cb"],"jwks_uri":"https://app.example.com/jwks","token_endpoint_auth_method":"private_key_jwt"}`,
		`{"redirect_uris":["https://app.example.com/cb"],"authorization_details_types":["payment_initiation"]}`,
		`{"redirect_uris":["https://app.example.com@evil.example/cb"]}`,
		`{"redirect_uris":["http://127.0.0.1:/cb"],"application_type":"native"}`,
		`{"redirect_uris":["javascript:alert(1)"],"application_type":"native"}`,
		`{"redirect_uris":"https://app.example.com/cb"}`,
		`{"redirect_uris":[null]}`,
		`{"scope":"openid\tprofile","redirect_uris":["https://app.example.com/cb"]}`,
		`{"token_exchange":{"audiences":[""]},"grant_types":["client_credentials"]}`,
		`{"jwks":{"keys":[{"kty":"EC"}]},"redirect_uris":["https://app.example.com/cb"]}`,
		`[]`, `null`, `{}`, ``, `{"a":`,
	} {
		f.Add([]byte(body))
	}
	const initial = "initial-access-token-0123456789"
	p, store := newTestProvider(f, Config{RegistrationToken: initial, AuthorizationDetailsTypes: []string{"payment_initiation"}})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := p.RegisterClient(ctx, initial, body)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Code != ErrInvalidClientMetadata.Code && e.Code != ErrInvalidRedirectURI.Code || e.Status != 400 {
				t.Fatalf("refusal %#v is not invalid_client_metadata or invalid_redirect_uri", err)
			}
			return
		}
		if _, err := json.Marshal(resp); err != nil {
			t.Fatalf("the registration response does not encode: %v", err)
		}
		id, _ := resp["client_id"].(string)
		c, err := store.GetClient(ctx, ports.DefaultTenant, id)
		if err != nil {
			t.Fatalf("registered client %q not stored: %v", id, err)
		}
		for _, u := range c.RedirectURIs {
			if e := checkRedirectURI(u, c.ApplicationType); e != "" {
				t.Fatalf("registered with redirect URI %q: %s", u, e)
			}
		}
		if slices.Contains(c.GrantTypes, GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
			t.Fatalf("registered for the authorization code grant without a redirect URI: %s", body)
		}
		if _, ok := ParseScope(c.Scope); !ok {
			t.Fatalf("registered with scope %q", c.Scope)
		}
		again, err := p.buildClient(c.Metadata)
		if err != nil {
			t.Fatalf("stored metadata %s is refused: %v", c.Metadata, err)
		}
		if !slices.Equal(again.RedirectURIs, c.RedirectURIs) || !slices.Equal(again.GrantTypes, c.GrantTypes) ||
			again.Scope != c.Scope || again.TokenEndpointAuth != c.TokenEndpointAuth || again.ApplicationType != c.ApplicationType {
			t.Fatalf("stored metadata %s reads back as another client: %+v, was %+v", c.Metadata, again, c)
		}
	})
}
