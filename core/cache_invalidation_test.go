package core

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"oauth2-server.dev/ports"
)

// cacheFixture is a provider whose caches hold a client, a user and an
// access token record, read as the hot endpoints read them.
type cacheFixture struct {
	*authzFixture
	cred   ClientCredentials
	tokens *TokenResponse
	// code is the authorization code the tokens were issued for.
	code string
}

const (
	cacheClient = "app"
	cacheSecret = "app-secret-0123456789"
)

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	ctx := context.Background()
	f := &cacheFixture{authzFixture: newAuthzFixture(t), cred: ClientCredentials{ID: cacheClient, Secret: cacheSecret, Method: ports.AuthMethodSecretBasic}}
	if _, err := f.p.EnsureClient(ctx, cacheClient, cacheSecret, []byte(`{"redirect_uris":["`+hybridRedirect+`"],
		"grant_types":["authorization_code","refresh_token"]}`)); err != nil {
		t.Fatal(err)
	}
	if err := f.store.SaveConsent(ctx, &ports.Consent{Tenant: f.p.cfg.Tenant, UserID: "u1", ClientID: cacheClient, Scope: "openid profile email offline_access", GrantedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	f.code, f.tokens = f.signIn(t)
	if f.tokens.RefreshToken == "" {
		t.Fatal("the sign-in issued no refresh token")
	}
	// Each read below fills the cache a change must then invalidate.
	if _, err := f.p.AuthenticateClient(ctx, f.cred); err != nil {
		t.Fatal(err)
	}
	if in := f.introspect(t); !in.Active {
		t.Fatal("a fresh access token reads inactive")
	}
	if u, err := f.userinfo(f.tokens.AccessToken); err != nil || u.Name != "Alice" {
		t.Fatalf("userinfo of a fresh token = %+v, %v", u, err)
	}
	return f
}

// signIn runs a code flow of the client for the signed-in user and
// returns the code and the tokens it was exchanged for.
func (f *cacheFixture) signIn(t *testing.T) (string, *TokenResponse) {
	t.Helper()
	q, _ := response(t, f.start(t, f.params("client_id", cacheClient, "scope", "openid profile offline_access")))
	code := q.Get("code")
	tokens, err := f.redeem(code)
	if err != nil {
		t.Fatalf("redeem: %v", err)
	}
	return code, tokens
}

func (f *cacheFixture) redeem(code string) (*TokenResponse, error) {
	return f.p.Token(context.Background(), TokenRequest{Client: f.cred, Form: url.Values{
		"grant_type": {GrantAuthorizationCode}, "code": {code}, "redirect_uri": {hybridRedirect}, "code_verifier": {testVerifier},
	}})
}

func (f *cacheFixture) refresh(token string) (*TokenResponse, error) {
	return f.p.Token(context.Background(), TokenRequest{Client: f.cred, Form: url.Values{
		"grant_type": {GrantRefreshToken}, "refresh_token": {token},
	}})
}

func (f *cacheFixture) introspect(t *testing.T) *Introspection {
	t.Helper()
	in, _, err := f.p.Introspect(context.Background(), f.cred, f.tokens.AccessToken, DPoPProof{})
	if err != nil {
		t.Fatalf("introspect: %v", err)
	}
	return in
}

func (f *cacheFixture) userinfo(token string) (*UserinfoResponse, error) {
	return f.p.Userinfo(context.Background(), ResourceRequest{Token: token, Scheme: TokenTypeBearer})
}

// TestChangesAreSeenAtOnce changes, through the engine, what its caches
// hold, and reads it again at once: the replica that made the change never
// serves what it replaced.
func TestChangesAreSeenAtOnce(t *testing.T) {
	ctx := context.Background()
	tokenInactive := func(t *testing.T, f *cacheFixture) {
		t.Helper()
		if f.introspect(t).Active {
			t.Fatal("the access token still reads active")
		}
	}
	tests := []struct {
		name   string
		change func(t *testing.T, f *cacheFixture) error
		// read fails the test when it is served what the change replaced.
		read func(t *testing.T, f *cacheFixture)
	}{
		{
			name: "a client's old secret stops working when the operator replaces it",
			change: func(t *testing.T, f *cacheFixture) error {
				_, err := f.p.EnsureClient(ctx, cacheClient, "new-secret-0123456789", []byte(`{"redirect_uris":["`+hybridRedirect+`"]}`))
				return err
			},
			read: func(t *testing.T, f *cacheFixture) {
				if _, err := f.p.AuthenticateClient(ctx, f.cred); !errors.Is(err, ErrInvalidClient) {
					t.Fatalf("the old secret authenticated: %v", err)
				}
			},
		},
		{
			name:   "a deleted client no longer authenticates",
			change: func(t *testing.T, f *cacheFixture) error { return f.p.DeleteClient(ctx, cacheClient) },
			read: func(t *testing.T, f *cacheFixture) {
				if _, err := f.p.AuthenticateClient(ctx, f.cred); !errors.Is(err, ErrInvalidClient) {
					t.Fatalf("a deleted client authenticated: %v", err)
				}
			},
		},
		{
			name:   "a deleted client's access tokens no longer reach userinfo",
			change: func(t *testing.T, f *cacheFixture) error { return f.p.DeleteClient(ctx, cacheClient) },
			read: func(t *testing.T, f *cacheFixture) {
				if _, err := f.userinfo(f.tokens.AccessToken); errCode(err) != "invalid_token" {
					t.Fatalf("userinfo with a deleted client's token = %v, want invalid_token", err)
				}
			},
		},
		{
			name:   "a deleted user's access tokens read inactive",
			change: func(t *testing.T, f *cacheFixture) error { return f.p.DeleteUser(ctx, "u1") },
			read:   tokenInactive,
		},
		{
			name: "a user deleted and created again under its id is read anew",
			change: func(t *testing.T, f *cacheFixture) error {
				if err := f.p.DeleteUser(ctx, "u1"); err != nil {
					return err
				}
				if err := f.p.CreateUser(ctx, &ports.User{ID: "u1", Username: "bob", Name: "Bob"}, "bob-password-0123456789"); err != nil {
					return err
				}
				return f.store.SaveConsent(ctx, &ports.Consent{Tenant: f.p.cfg.Tenant, UserID: "u1", ClientID: cacheClient, Scope: "openid profile offline_access", GrantedAt: testNow})
			},
			read: func(t *testing.T, f *cacheFixture) {
				_, tokens := f.signIn(t)
				if u, err := f.userinfo(tokens.AccessToken); err != nil || u.Name != "Bob" {
					t.Fatalf("userinfo of the new user = %+v, %v; want the name Bob", u, err)
				}
			},
		},
		{
			name: "a revoked access token reads inactive",
			change: func(t *testing.T, f *cacheFixture) error {
				return f.p.Revoke(ctx, f.cred, f.tokens.AccessToken, DPoPProof{})
			},
			read: tokenInactive,
		},
		{
			name: "revoking the refresh token ends the access tokens of its grant",
			change: func(t *testing.T, f *cacheFixture) error {
				return f.p.Revoke(ctx, f.cred, f.tokens.RefreshToken, DPoPProof{})
			},
			read: tokenInactive,
		},
		{
			name:   "a withdrawn consent ends the client's tokens",
			change: func(t *testing.T, f *cacheFixture) error { return f.p.RevokeConsent(ctx, "u1", cacheClient) },
			read:   tokenInactive,
		},
		{
			name: "a replayed refresh token ends its grant",
			change: func(t *testing.T, f *cacheFixture) error {
				if _, err := f.refresh(f.tokens.RefreshToken); err != nil {
					return err
				}
				if _, err := f.refresh(f.tokens.RefreshToken); errCode(err) != "invalid_grant" {
					t.Fatalf("replayed refresh = %v, want invalid_grant", err)
				}
				return nil
			},
			read: tokenInactive,
		},
		{
			name: "a replayed code ends its grant",
			change: func(t *testing.T, f *cacheFixture) error {
				if _, err := f.redeem(f.code); errCode(err) != "invalid_grant" {
					t.Fatalf("replayed code = %v, want invalid_grant", err)
				}
				return nil
			},
			read: tokenInactive,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCacheFixture(t)
			if err := tt.change(t, f); err != nil {
				t.Fatalf("change: %v", err)
			}
			tt.read(t, f)
		})
	}
}
