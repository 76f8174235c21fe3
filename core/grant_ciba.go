package core

import (
	"context"
	"errors"
	"net/url"
	"time"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// cibaDecision is backchannel authentication's pending decision.
var cibaDecision = pendingDecision{
	handle: "the auth_req_id", expired: "the authentication request has expired",
	pending: ports.CIBAPending, denied: ports.CIBADenied,
}

// cibaGrant lets a client collect the tokens of a backchannel
// authentication request (CIBA §10.1).
type cibaGrant struct {
	grantBase
	store cibaRedeemer
}

// cibaRedeemer is what the CIBA grant reads and changes.
type cibaRedeemer interface {
	tokenCreator
	PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error)
	RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error)
}

// newCIBAGrant returns the CIBA grant, or nil when there is no way to
// reach authentication devices.
func newCIBAGrant(p *Provider) grantHandler {
	if !p.CIBAEnabled() {
		return nil
	}
	return cibaGrant{grantBase: p.grantBase(), store: p.store}
}

func (g cibaGrant) handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error) {
	raw := form.Get("auth_req_id")
	if raw == "" {
		return nil, ErrInvalidRequest.WithDescription("auth_req_id is missing")
	}
	hash := secret.Digest(raw)
	now := g.clock.Now()
	prev, err := g.store.PollCIBARequest(ctx, g.tenant, hash, now)
	// CIBA §11: invalid_grant for an unknown auth_req_id or one issued
	// to another client.
	if errors.Is(err, ports.ErrNotFound) {
		return nil, ErrInvalidGrant.WithDescription("the auth_req_id is unknown")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	if prev.ClientID != client.ID {
		return nil, cibaDecision.issuedToAnother()
	}
	if prev.UsedAt != nil {
		return nil, ErrInvalidGrant.WithDescription("the auth_req_id was already used")
	}
	// CIBA §11: expired_token once the request has expired.
	if !now.Before(prev.ExpiresAt) {
		return nil, ErrExpiredToken.WithDescription(cibaDecision.expired)
	}
	if err := cibaDecision.answer(prev.Status, prev.LastPolledAt, prev.Interval, now); err != nil {
		return nil, err
	}
	r, err := g.store.RedeemCIBARequest(ctx, g.tenant, hash, now)
	if err != nil {
		return nil, cibaDecision.redeemError(err)
	}
	// CIBA §10.1.1: in poll and ping modes the token response is the one
	// of OIDC Core §3.1.3.3; the ID token carries the usual claims and
	// at_hash, and nothing that depends on the auth_req_id.
	return g.mint.issue(ctx, issueParams{
		grantType: GrantCIBA, client: client, grantID: secret.OrderedID(g.clock.Now()), subject: r.UserID, scope: r.Scope,
		sessionID: r.SessionID, authTime: r.AuthTime, jkt: jkt,
	}, createTokens(ctx, g.store))
}
