package core

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"slices"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// Token exchange identifiers (RFC 8693 §2.1, §3).
const (
	GrantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange" // #nosec G101 -- an RFC 8693 identifier, not a credential
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"   // #nosec G101 -- an RFC 8693 identifier, not a credential
)

// tokenExchangePolicy is a client's registered token exchange policy
// (registration member "token_exchange"): which audiences it may ask
// tokens for, and whether it may impersonate (exchange without an actor
// token). Delegation, with an actor token the client itself holds, is
// always allowed to a client registered for the grant.
type tokenExchangePolicy struct {
	Audiences     []string `json:"audiences"`
	Impersonation bool     `json:"impersonation"`
}

func parseTokenExchangePolicy(c *ports.Client) tokenExchangePolicy {
	var m struct {
		P tokenExchangePolicy `json:"token_exchange"`
	}
	if len(c.Metadata) > 0 {
		_ = json.Unmarshal(c.Metadata, &m)
	}
	return m.P
}

// actClaim is the actor of a delegated token (RFC 8693 §4.1).
type actClaim struct {
	Sub string    `json:"sub"`
	Act *actClaim `json:"act,omitempty"`
}

// tokenExchangeGrant exchanges one of the server's access tokens for a
// new one with another audience, narrower scope, and, for delegation, an
// act claim naming the actor (RFC 8693).
type tokenExchangeGrant struct {
	grantBase
	store  tokenCreator
	tokens accessTokenLookup
}

// accessTokenLookup resolves the subject and actor tokens of an exchange.
type accessTokenLookup interface {
	LookupAccessToken(ctx context.Context, raw string) (*ports.Token, error)
}

func newTokenExchangeGrant(p *Provider) grantHandler {
	return tokenExchangeGrant{grantBase: p.grantBase(), store: p.store, tokens: p}
}

func (g tokenExchangeGrant) handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error) {
	if form.Get("subject_token") == "" || form.Get("subject_token_type") == "" {
		return nil, ErrInvalidRequest.WithDescription("subject_token and subject_token_type are required")
	}
	if form.Get("subject_token_type") != TokenTypeAccessToken {
		return nil, ErrInvalidRequest.WithDescription("subject_token_type must be " + TokenTypeAccessToken)
	}
	if rt := form.Get("requested_token_type"); rt != "" && rt != TokenTypeAccessToken {
		return nil, ErrInvalidRequest.WithDescription("only access tokens can be requested")
	}
	subject, err := g.tokens.LookupAccessToken(ctx, form.Get("subject_token"))
	if err != nil {
		return nil, ErrInvalidGrant.WithDescription("the subject_token is invalid, expired or revoked")
	}
	// RFC 9449 §7.1: a DPoP-bound token is only good with a proof of its
	// key; an exchange must not turn a stolen one into a usable token.
	if subject.JKT != "" && subject.JKT != jkt {
		return nil, ErrInvalidGrant.WithDescription("the subject_token is DPoP-bound; send a DPoP proof signed by its key")
	}
	// RFC 8705 §3: so is a certificate-bound one, with its certificate.
	if subject.X5TS256 != "" && subject.X5TS256 != presentedCertificate(ctx) {
		return nil, ErrInvalidGrant.WithDescription("the subject_token is bound to a client certificate; present that certificate")
	}
	policy := parseTokenExchangePolicy(client)

	var act *actClaim
	if actor := form.Get("actor_token"); actor != "" {
		if form.Get("actor_token_type") != TokenTypeAccessToken {
			return nil, ErrInvalidRequest.WithDescription("actor_token_type must be " + TokenTypeAccessToken)
		}
		at, err := g.tokens.LookupAccessToken(ctx, actor)
		if err != nil {
			return nil, ErrInvalidGrant.WithDescription("the actor_token is invalid, expired or revoked")
		}
		// The actor acts for itself: its token must be the requesting
		// client's own.
		if at.ClientID != client.ID {
			return nil, ErrInvalidGrant.WithDescription("the actor_token was not issued to this client")
		}
		if at.JKT != "" && at.JKT != jkt {
			return nil, ErrInvalidGrant.WithDescription("the actor_token is DPoP-bound; send a DPoP proof signed by its key")
		}
		if at.X5TS256 != "" && at.X5TS256 != presentedCertificate(ctx) {
			return nil, ErrInvalidGrant.WithDescription("the actor_token is bound to a client certificate; present that certificate")
		}
		act = &actClaim{Sub: at.Subject}
	} else if form.Get("actor_token_type") != "" {
		return nil, ErrInvalidRequest.WithDescription("actor_token_type without actor_token")
	} else if !policy.Impersonation {
		return nil, ErrUnauthorizedClient.WithDescription("the client may not impersonate; send an actor_token for delegation")
	}

	// RFC 8693 §2.1: audience and resource name where the token will be
	// used; RFC 8707 §2 requires absolute URIs for resource.
	var targets []string
	targets = append(targets, form["audience"]...)
	targets = append(targets, form["resource"]...)
	var audience []string
	switch len(targets) {
	case 0:
	case 1:
		if !slices.Contains(policy.Audiences, targets[0]) {
			return nil, ErrInvalidTarget.WithDescription("the client may not obtain tokens for " + targets[0])
		}
		audience = targets[:1]
	default:
		return nil, ErrInvalidTarget.WithDescription("ask for one audience per exchange")
	}

	scope := subject.Scope
	if s := form.Get("scope"); s != "" {
		want, ok := ParseScope(s)
		if !ok || !subset(want, subject.Scope) {
			return nil, ErrInvalidScope.WithDescription("scope exceeds the subject token's")
		}
		scope = JoinScope(want)
	}
	resp, err := g.mint.issue(ctx, issueParams{
		grantType: GrantTokenExchange, client: client, grantID: secret.OrderedID(g.clock.Now()), subject: subject.Subject, scope: scope,
		authTime: subject.AuthTime, audiences: audience, act: act, noRefresh: true, noIDToken: true, jkt: jkt,
	}, createTokens(ctx, g.store))
	if err != nil {
		if errors.Is(err, ports.ErrAlreadyUsed) {
			return nil, ErrServerError.Wrap(err)
		}
		return nil, err
	}
	resp.IssuedTokenType = TokenTypeAccessToken
	return resp, nil
}
