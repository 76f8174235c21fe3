package core

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"oauth2-server.dev/ports"
)

// metadataOf decodes a client's stored metadata.
func metadataOf(t *testing.T, c *ports.Client) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Metadata, &m); err != nil {
		t.Fatalf("stored metadata is not a JSON object: %v\n%s", err, c.Metadata)
	}
	return m
}

func TestBuildClientDefaults(t *testing.T) {
	p, _ := newTestProvider(t, Config{})
	c, err := p.buildClient([]byte(`{"redirect_uris":["https://app.example.com/cb"],"client_name":"App"}`))
	if err != nil {
		t.Fatalf("buildClient: %v", err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{name: "grant type is authorization_code", got: c.GrantTypes, want: []string{GrantAuthorizationCode}},
		{name: "response type is code", got: c.ResponseTypes, want: []string{"code"}},
		{name: "auth method is client_secret_basic", got: c.TokenEndpointAuth, want: ports.AuthMethodSecretBasic},
		{name: "scope is the standard scopes", got: c.Scope, want: "openid profile email offline_access"},
		{name: "application type is web", got: c.ApplicationType, want: "web"},
		{name: "access tokens are JWTs", got: c.AccessTokenFormat, want: ports.TokenFormatJWT},
		{name: "name is kept", got: c.Name, want: "App"},
		{name: "client belongs to the provider's tenant", got: c.Tenant, want: ports.DefaultTenant},
	}
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			gotJSON, _ := json.Marshal(ck.got)
			wantJSON, _ := json.Marshal(ck.want)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("got %s, want %s", gotJSON, wantJSON)
			}
		})
	}
	t.Run("stored metadata shows the applied defaults", func(t *testing.T) {
		m := metadataOf(t, c)
		want := map[string]string{
			"token_endpoint_auth_method": "client_secret_basic",
			"scope":                      "openid profile email offline_access",
			"application_type":           "web",
			"access_token_format":        "jwt",
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("metadata %s = %v, want %q", k, m[k], v)
			}
		}
		if gt, _ := json.Marshal(m["grant_types"]); string(gt) != `["authorization_code"]` {
			t.Errorf("metadata grant_types = %s", gt)
		}
		if rt, _ := json.Marshal(m["response_types"]); string(rt) != `["code"]` {
			t.Errorf("metadata response_types = %s", rt)
		}
	})
}

func TestBuildClient(t *testing.T) {
	tests := []struct {
		name            string
		allowList       []string
		requestURIHosts []string
		body            string
		wantCode        string // "" when the document is accepted
		check           func(t *testing.T, c *ports.Client)
	}{
		{
			name: "client_credentials-only client needs no redirect URI or response type",
			body: `{"grant_types":["client_credentials"]}`,
			check: func(t *testing.T, c *ports.Client) {
				if len(c.RedirectURIs) != 0 || len(c.ResponseTypes) != 0 {
					t.Errorf("redirect URIs %q, response types %q; want none", c.RedirectURIs, c.ResponseTypes)
				}
				if !slices.Equal(c.GrantTypes, []string{GrantClientCredentials}) {
					t.Errorf("grant types = %q", c.GrantTypes)
				}
				m := metadataOf(t, c)
				if rt, _ := json.Marshal(m["response_types"]); string(rt) != `[]` {
					t.Errorf("metadata response_types = %s, want []", rt)
				}
			},
		},
		{
			name: "client_credentials client keeps the scope it asked for",
			body: `{"grant_types":["client_credentials"],"scope":"api:read api:write"}`,
			check: func(t *testing.T, c *ports.Client) {
				if c.Scope != "api:read api:write" {
					t.Errorf("scope = %q", c.Scope)
				}
			},
		},
		{
			name: "explicit scope replaces the default",
			body: `{"redirect_uris":["https://app.example.com/cb"],"scope":"openid openid profile"}`,
			check: func(t *testing.T, c *ports.Client) {
				if c.Scope != "openid profile" {
					t.Errorf("scope = %q, want %q", c.Scope, "openid profile")
				}
			},
		},
		{
			name: "public client with the code flow is accepted",
			body: `{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"none"}`,
			check: func(t *testing.T, c *ports.Client) {
				if !c.Public() {
					t.Errorf("client is not public: %q", c.TokenEndpointAuth)
				}
			},
		},
		{
			name: "native client with a private-scheme redirect URI is accepted",
			body: `{"redirect_uris":["com.example.app:/cb","http://127.0.0.1/cb"],"application_type":"native","token_endpoint_auth_method":"none"}`,
			check: func(t *testing.T, c *ports.Client) {
				if c.ApplicationType != "native" {
					t.Errorf("application type = %q", c.ApplicationType)
				}
			},
		},
		{
			name: "code, refresh and client_credentials together are accepted",
			body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","refresh_token","client_credentials"],"token_endpoint_auth_method":"client_secret_post"}`,
		},
		{name: "jwks alone is accepted", body: `{"redirect_uris":["https://app.example.com/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"APEd6jGvYU3GPy2-081EuHZQc4hoh92BFQyE9u-HZ-E","y":"f8JJTc1pkiWZ7PFfT0hZt8ba2klL0si-txcvWHo3Zjg","kid":"1"}]}}`},
		{name: "private_key_jwt with jwks is accepted", body: `{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"APEd6jGvYU3GPy2-081EuHZQc4hoh92BFQyE9u-HZ-E","y":"f8JJTc1pkiWZ7PFfT0hZt8ba2klL0si-txcvWHo3Zjg","kid":"1"}]}}`},
		{name: "jwks_uri alone is accepted", body: `{"redirect_uris":["https://app.example.com/cb"],"jwks_uri":"https://app.example.com/jwks"}`},
		{name: "opaque access tokens may be chosen", body: `{"redirect_uris":["https://app.example.com/cb"],"access_token_format":"opaque"}`,
			check: func(t *testing.T, c *ports.Client) {
				if c.AccessTokenFormat != ports.TokenFormatOpaque {
					t.Errorf("access token format = %q", c.AccessTokenFormat)
				}
			}},
		{name: "supported ID token algorithm is accepted", body: `{"redirect_uris":["https://app.example.com/cb"],"id_token_signed_response_alg":"ES256"}`},
		{
			name: "hybrid response types with the implicit grant are accepted in canonical spelling",
			body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","implicit","refresh_token"],"response_types":["code","id_token code","token id_token code","code id_token"]}`,
			check: func(t *testing.T, c *ports.Client) {
				if !slices.Equal(c.ResponseTypes, []string{"code", "code id_token", "code id_token token"}) {
					t.Errorf("response types = %q", c.ResponseTypes)
				}
				if rt, _ := json.Marshal(metadataOf(t, c)["response_types"]); string(rt) != `["code","code id_token","code id_token token"]` {
					t.Errorf("metadata response_types = %s", rt)
				}
			},
		},
		{name: "code token alone with the implicit grant is accepted", body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","implicit"],"response_types":["code token"]}`},
		{name: "JARM signing algorithm is accepted", body: `{"redirect_uris":["https://app.example.com/cb"],"authorization_signed_response_alg":"EdDSA"}`},
		{
			name: "registered request_uris on an allowed host are accepted", requestURIHosts: []string{"rp.example.com", "objects.example.net:8443"},
			body: `{"redirect_uris":["https://app.example.com/cb"],"request_uris":["https://rp.example.com/req/1#Qz3u","https://OBJECTS.example.net:8443/r"]}`,
		},
		{
			name: "unknown metadata is kept",
			body: `{"redirect_uris":["https://app.example.com/cb"],"logo_uri":"https://app.example.com/logo.png","software_id":"4NRB1-0XZABZI9E6-5SM3R","x_custom":{"nested":[1,2]}}`,
			check: func(t *testing.T, c *ports.Client) {
				m := metadataOf(t, c)
				if m["logo_uri"] != "https://app.example.com/logo.png" || m["software_id"] != "4NRB1-0XZABZI9E6-5SM3R" {
					t.Errorf("metadata lost members: %s", c.Metadata)
				}
				if x, _ := json.Marshal(m["x_custom"]); string(x) != `{"nested":[1,2]}` {
					t.Errorf("x_custom = %s", x)
				}
			},
		},
		{
			name: "server-assigned members are not taken from the document",
			body: `{"redirect_uris":["https://app.example.com/cb"],"client_id":"chosen","client_secret":"chosen","client_id_issued_at":1,"client_secret_expires_at":1,"registration_access_token":"chosen","registration_client_uri":"https://evil.test/"}`,
			check: func(t *testing.T, c *ports.Client) {
				m := metadataOf(t, c)
				for _, k := range []string{"client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at", "registration_access_token", "registration_client_uri"} {
					if _, ok := m[k]; ok {
						t.Errorf("metadata keeps the client-chosen %s", k)
					}
				}
				if c.ID == "chosen" || c.SecretHash != "" {
					t.Errorf("client took its id or secret from the document: %q %q", c.ID, c.SecretHash)
				}
			},
		},
		{
			name: "scope inside the allow-list is accepted", allowList: []string{"openid", "profile", "api:read"},
			body: `{"redirect_uris":["https://app.example.com/cb"],"scope":"openid api:read"}`,
		},

		{name: "unsupported auth method", body: `{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, wantCode: "invalid_client_metadata"},
		{name: "client_secret_jwt is not supported", body: `{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"client_secret_jwt"}`, wantCode: "invalid_client_metadata"},
		{name: "public client cannot use client_credentials", body: `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}`, wantCode: "invalid_client_metadata"},
		{name: "response type code without the code grant", body: `{"grant_types":["client_credentials"],"response_types":["code"]}`, wantCode: "invalid_client_metadata"},
		{name: "code grant without response type code", body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code"],"response_types":[]}`, wantCode: "invalid_client_metadata"},
		{name: "implicit response type", body: `{"redirect_uris":["https://app.example.com/cb"],"response_types":["code","token"]}`, wantCode: "invalid_client_metadata"},
		{name: "password grant", body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","password"]}`, wantCode: "invalid_client_metadata"},
		{name: "implicit grant", body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["implicit"],"response_types":["token"]}`, wantCode: "invalid_client_metadata"},
		{name: "implicit id_token response type", body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","implicit"],"response_types":["code","id_token"]}`, wantCode: "invalid_client_metadata"},
		{name: "hybrid response type without the implicit grant", body: `{"redirect_uris":["https://app.example.com/cb"],"response_types":["code id_token"]}`, wantCode: "invalid_client_metadata"},
		{name: "implicit grant without a hybrid response type", body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","implicit"]}`, wantCode: "invalid_client_metadata"},
		{name: "repeated value in a response type", body: `{"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","implicit"],"response_types":["code code token"]}`, wantCode: "invalid_client_metadata"},
		{name: "unsigned authorization responses", body: `{"redirect_uris":["https://app.example.com/cb"],"authorization_signed_response_alg":"none"}`, wantCode: "invalid_client_metadata"},
		{name: "HMAC authorization responses", body: `{"redirect_uris":["https://app.example.com/cb"],"authorization_signed_response_alg":"HS256"}`, wantCode: "invalid_client_metadata"},
		{name: "encrypted authorization responses", body: `{"redirect_uris":["https://app.example.com/cb"],"authorization_encrypted_response_alg":"RSA-OAEP-256"}`, wantCode: "invalid_client_metadata"},
		{name: "authorization response encryption method alone", body: `{"redirect_uris":["https://app.example.com/cb"],"authorization_encrypted_response_enc":"A128GCM"}`, wantCode: "invalid_client_metadata"},
		{name: "request_uris while the server fetches none", body: `{"redirect_uris":["https://app.example.com/cb"],"request_uris":["https://rp.example.com/req"]}`, wantCode: "invalid_client_metadata"},
		{name: "http request_uri", requestURIHosts: []string{"rp.example.com"}, body: `{"redirect_uris":["https://app.example.com/cb"],"request_uris":["http://rp.example.com/req"]}`, wantCode: "invalid_client_metadata"},
		{name: "request_uri on a host the operator did not allow", requestURIHosts: []string{"rp.example.com"}, body: `{"redirect_uris":["https://app.example.com/cb"],"request_uris":["https://evil.example/req"]}`, wantCode: "invalid_client_metadata"},
		{name: "request_uri on an allowed name but another port", requestURIHosts: []string{"rp.example.com"}, body: `{"redirect_uris":["https://app.example.com/cb"],"request_uris":["https://rp.example.com:8443/req"]}`, wantCode: "invalid_client_metadata"},
		{name: "request_uri with user info", requestURIHosts: []string{"rp.example.com"}, body: `{"redirect_uris":["https://app.example.com/cb"],"request_uris":["https://me@rp.example.com/req"]}`, wantCode: "invalid_client_metadata"},
		{name: "request_uri over 512 characters", requestURIHosts: []string{"rp.example.com"}, body: `{"redirect_uris":["https://app.example.com/cb"],"request_uris":["https://rp.example.com/` + strings.Repeat("r", 512) + `"]}`, wantCode: "invalid_client_metadata"},
		{name: "refresh_token without the code grant", body: `{"grant_types":["client_credentials","refresh_token"]}`, wantCode: "invalid_client_metadata"},
		{name: "jwks together with jwks_uri", body: `{"redirect_uris":["https://app.example.com/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"APEd6jGvYU3GPy2-081EuHZQc4hoh92BFQyE9u-HZ-E","y":"f8JJTc1pkiWZ7PFfT0hZt8ba2klL0si-txcvWHo3Zjg","kid":"1"}]},"jwks_uri":"https://app.example.com/jwks"}`, wantCode: "invalid_client_metadata"},
		{name: "empty jwks", body: `{"redirect_uris":["https://app.example.com/cb"],"jwks":{"keys":[]}}`, wantCode: "invalid_client_metadata"},
		{name: "jwks with a private key", body: `{"redirect_uris":["https://app.example.com/cb"],"jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"APEd6jGvYU3GPy2-081EuHZQc4hoh92BFQyE9u-HZ-E","y":"f8JJTc1pkiWZ7PFfT0hZt8ba2klL0si-txcvWHo3Zjg","d":"SGyEO4CUcDBOj13MAK_LwIvOkgx1xFT7GYm-xxSiNMs","kid":"1"}]}}`, wantCode: "invalid_client_metadata"},
		{name: "http jwks_uri", body: `{"redirect_uris":["https://app.example.com/cb"],"jwks_uri":"http://app.example.com/jwks"}`, wantCode: "invalid_client_metadata"},
		{name: "private_key_jwt without keys", body: `{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt"}`, wantCode: "invalid_client_metadata"},
		{name: "unknown application type", body: `{"redirect_uris":["https://app.example.com/cb"],"application_type":"desktop"}`, wantCode: "invalid_client_metadata"},
		{name: "unsigned ID tokens", body: `{"redirect_uris":["https://app.example.com/cb"],"id_token_signed_response_alg":"none"}`, wantCode: "invalid_client_metadata"},
		{name: "HMAC ID tokens", body: `{"redirect_uris":["https://app.example.com/cb"],"id_token_signed_response_alg":"HS256"}`, wantCode: "invalid_client_metadata"},
		{name: "unknown access token format", body: `{"redirect_uris":["https://app.example.com/cb"],"access_token_format":"paseto"}`, wantCode: "invalid_client_metadata"},
		{name: "scope with a forbidden character", body: `{"redirect_uris":["https://app.example.com/cb"],"scope":"openid pro\\file"}`, wantCode: "invalid_client_metadata"},
		{
			name: "scope outside the allow-list", allowList: []string{"openid", "profile", "api:read"},
			body: `{"redirect_uris":["https://app.example.com/cb"],"scope":"openid api:write"}`, wantCode: "invalid_client_metadata",
		},
		{
			name: "client_credentials scope outside the allow-list", allowList: []string{"api:read"},
			body: `{"grant_types":["client_credentials"],"scope":"api:admin"}`, wantCode: "invalid_client_metadata",
		},
		{name: "code grant without redirect URIs", body: `{"client_name":"App"}`, wantCode: "invalid_redirect_uri"},
		{name: "redirect URI with a fragment", body: `{"redirect_uris":["https://app.example.com/cb#x"]}`, wantCode: "invalid_redirect_uri"},
		{name: "javascript redirect URI", body: `{"redirect_uris":["javascript:alert(1)"],"application_type":"native"}`, wantCode: "invalid_redirect_uri"},
		{name: "http redirect URI on a public host", body: `{"redirect_uris":["http://app.example.com/cb"]}`, wantCode: "invalid_redirect_uri"},
		{name: "private-scheme redirect URI on a web client", body: `{"redirect_uris":["com.example.app:/cb"]}`, wantCode: "invalid_redirect_uri"},

		{name: "truncated JSON", body: `{"redirect_uris":["https://app.example.com/cb"]`, wantCode: "invalid_client_metadata"},
		{name: "empty body", body: ``, wantCode: "invalid_client_metadata"},
		{name: "JSON null", body: `null`, wantCode: "invalid_client_metadata"},
		{name: "JSON array", body: `[{"redirect_uris":["https://app.example.com/cb"]}]`, wantCode: "invalid_client_metadata"},
		{name: "JSON string", body: `"https://app.example.com/cb"`, wantCode: "invalid_client_metadata"},
		{name: "redirect_uris as a string", body: `{"redirect_uris":"https://app.example.com/cb"}`, wantCode: "invalid_client_metadata"},
		{name: "scope as an array", body: `{"redirect_uris":["https://app.example.com/cb"],"scope":["openid"]}`, wantCode: "invalid_client_metadata"},
		{name: "document over 64 KiB", body: `{"redirect_uris":["https://app.example.com/cb"],"client_name":"` + strings.Repeat("a", 64<<10) + `"}`, wantCode: "invalid_client_metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProvider(t, Config{ScopeAllowList: tt.allowList, RequestURIHosts: tt.requestURIHosts})
			c, err := p.buildClient([]byte(tt.body))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("buildClient refused: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("buildClient = %v, %v; want a %s protocol error", c, err, tt.wantCode)
			}
			if e.Code != tt.wantCode {
				t.Fatalf("error code = %s (%s), want %s", e.Code, e.Description, tt.wantCode)
			}
			if e.Description == "" {
				t.Errorf("%s error says nothing about what is wrong", e.Code)
			}
			if c != nil {
				t.Errorf("refused document still produced a client")
			}
		})
	}
}

func TestBuildClientDefaultScopeWithAllowList(t *testing.T) {
	t.Run("omitted scope defaults to the standard scopes the server allows", func(t *testing.T) {
		p, _ := newTestProvider(t, Config{ScopeAllowList: []string{"openid", "profile", "api:read"}})
		c, err := p.buildClient([]byte(`{"redirect_uris":["https://app.example.com/cb"]}`))
		if err != nil {
			t.Fatalf("a client that names no scope was refused: %v", err)
		}
		if c.Scope != "openid profile" {
			t.Fatalf("scope = %q, want %q", c.Scope, "openid profile")
		}
	})
}

func TestRegisterClientKeepsMetadata(t *testing.T) {
	const initial = "initial-access-token-0123456789"
	p, store := newTestProvider(t, Config{RegistrationToken: initial})
	ctx := context.Background()
	body := `{"redirect_uris":["https://app.example.com/cb"],"client_name":"App","logo_uri":"https://app.example.com/logo.png","tos_uri":"https://app.example.com/tos"}`

	resp, err := p.RegisterClient(ctx, initial, []byte(body))
	if err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	id, _ := resp["client_id"].(string)
	regToken, _ := resp["registration_access_token"].(string)

	t.Run("unknown members are in the stored metadata", func(t *testing.T) {
		c, err := store.GetClient(ctx, ports.DefaultTenant, id)
		if err != nil {
			t.Fatalf("GetClient(%q): %v", id, err)
		}
		m := metadataOf(t, c)
		if m["logo_uri"] != "https://app.example.com/logo.png" || m["tos_uri"] != "https://app.example.com/tos" {
			t.Errorf("stored metadata lost members: %s", c.Metadata)
		}
		if strings.Contains(string(c.Metadata), resp["client_secret"].(string)) {
			t.Error("stored metadata contains the client secret")
		}
	})
	t.Run("a registration read returns them", func(t *testing.T) {
		read, err := p.ReadClientRegistration(ctx, id, regToken)
		if err != nil {
			t.Fatalf("ReadClientRegistration: %v", err)
		}
		if read["logo_uri"] != "https://app.example.com/logo.png" || read["tos_uri"] != "https://app.example.com/tos" {
			t.Errorf("read lost members: %v", read)
		}
		if read["client_id"] != id {
			t.Errorf("read client_id = %v, want %s", read["client_id"], id)
		}
		if _, ok := read["client_secret"]; ok {
			t.Error("a registration read returns the client secret")
		}
	})
	t.Run("registration without the initial access token is refused", func(t *testing.T) {
		_, err := p.RegisterClient(ctx, "guess", []byte(body))
		if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("RegisterClient with a wrong token = %v, want invalid_token", err)
		}
	})
}
