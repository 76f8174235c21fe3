package core

import (
	"context"
	"errors"

	"oauth2-server.dev/ports"
)

// userClaims are the standard claims released per scope (OIDC Core §5.4).
type userClaims struct {
	Name              string `json:"name,omitempty"`
	GivenName         string `json:"given_name,omitempty"`
	FamilyName        string `json:"family_name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Email             string `json:"email,omitempty"`
	EmailVerified     *bool  `json:"email_verified,omitempty"`
}

func claimsFor(u *ports.User, scope string) userClaims {
	var c userClaims
	if hasScope(scope, ScopeProfile) {
		c.Name, c.GivenName, c.FamilyName = u.Name, u.GivenName, u.FamilyName
		c.PreferredUsername = u.Username
	}
	if hasScope(scope, ScopeEmail) && u.Email != "" {
		c.Email = u.Email
		v := u.EmailVerified
		c.EmailVerified = &v
	}
	return c
}

// UserinfoResponse is the userinfo endpoint's answer (OIDC Core §5.3.2).
type UserinfoResponse struct {
	Sub string `json:"sub"`
	userClaims
}

// Userinfo returns the claims the access token's scope releases about its
// user. A DPoP-bound token must come with the DPoP scheme and a proof of
// its key.
func (ts *tokenService) Userinfo(ctx context.Context, req ResourceRequest) (*UserinfoResponse, error) {
	tok, err := ts.resourceToken(ctx, req, ts.endpoints.userinfo)
	if err != nil {
		return nil, err
	}
	// OIDC Core §5.3: userinfo needs a token granted the openid scope.
	if !hasScope(tok.Scope, ScopeOpenID) {
		return nil, ErrInsufficientScope.WithDescription("the access token was not granted the openid scope")
	}
	u, err := ts.dir.user(ctx, tok.Subject)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, ErrInvalidToken.WithDescription("the token's user no longer exists")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	return &UserinfoResponse{Sub: u.ID, userClaims: claimsFor(u, tok.Scope)}, nil
}

// LookupAccessToken resolves a presented access token, JWT or opaque, to its
// record. It fails with invalid_token unless the token is the server's own,
// unexpired and not revoked. The store is consulted for JWTs too, so a
// revocation is seen at once by every replica.
func (ts *tokenService) LookupAccessToken(ctx context.Context, raw string) (*ports.Token, error) {
	invalid := ErrInvalidToken.WithDescription("the access token is invalid, expired or revoked")
	if raw == "" {
		return nil, invalid
	}
	tok, _, err := ts.findToken(ctx, raw)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if tok.Kind != ports.TokenAccess || !tok.Active(ts.clock.Now()) {
		return nil, invalid
	}
	return tok, nil
}
