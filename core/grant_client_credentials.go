package core

import (
	"context"
	"net/url"

	"oauth2-server.dev/core/authzdetails"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// clientCredentialsGrant issues tokens to a client acting on its own behalf
// (RFC 6749 §4.4).
type clientCredentialsGrant struct {
	grantBase
	store   tokenCreator
	details detailsParser
}

// detailsParser checks the authorization details a client asks for
// against the server's and the client's types.
type detailsParser interface {
	parseAuthorizationDetails(c *ports.Client, raw string) (authzdetails.List, *Error)
}

func newClientCredentialsGrant(p *Provider) grantHandler {
	return clientCredentialsGrant{grantBase: p.grantBase(), store: p.store, details: p.authorizationService}
}

func (g clientCredentialsGrant) handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error) {
	// RFC 6749 §4.4: only confidential clients.
	if client.Public() {
		return nil, ErrUnauthorizedClient.WithDescription("public clients cannot use client_credentials")
	}
	want, ok := ParseScope(form.Get("scope"))
	if !ok {
		return nil, ErrInvalidScope.WithDescription("scope has invalid characters")
	}
	if len(want) == 0 {
		registered, _ := ParseScope(client.Scope)
		for _, s := range registered {
			// User-facing scopes mean nothing without a user.
			if s != ScopeOpenID && s != ScopeOfflineAccess {
				want = append(want, s)
			}
		}
	} else if !subset(want, client.Scope) {
		return nil, ErrInvalidScope.WithDescription("the client may not request this scope")
	}
	for _, s := range want {
		if s == ScopeOpenID || s == ScopeOfflineAccess {
			return nil, ErrInvalidScope.WithDescription("scope " + s + " needs a user; client_credentials has none")
		}
	}
	resources, rerr := parseResources(client, form["resource"])
	if rerr != nil {
		return nil, rerr
	}
	// RFC 9396 §6: without a user, the client's own registration and the
	// server's types decide which authorization details it may have.
	details, derr := g.details.parseAuthorizationDetails(client, form.Get(paramAuthorizationDetails))
	if derr != nil {
		return nil, derr
	}
	return g.mint.issue(ctx, issueParams{
		grantType: GrantClientCredentials, client: client, grantID: secret.OrderedID(g.clock.Now()), subject: client.ID, scope: JoinScope(want),
		audiences: resources, noRefresh: true, jkt: jkt, details: details.JSON(),
	}, createTokens(ctx, g.store))
}
