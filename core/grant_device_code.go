package core

import (
	"context"
	"errors"
	"net/url"
	"time"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// deviceDecision is the device grant's pending decision.
var deviceDecision = pendingDecision{
	handle: "the device code", expired: "the device code has expired",
	pending: ports.DevicePending, denied: ports.DeviceDenied,
}

// deviceCodeGrant lets a device poll for its tokens (RFC 8628 §3.4).
type deviceCodeGrant struct {
	grantBase
	store deviceCodeRedeemer
}

// deviceCodeRedeemer is what the device grant reads and changes.
type deviceCodeRedeemer interface {
	tokenCreator
	PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error)
	RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error)
}

func newDeviceCodeGrant(p *Provider) grantHandler {
	return deviceCodeGrant{grantBase: p.grantBase(), store: p.store}
}

func (g deviceCodeGrant) handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error) {
	raw := form.Get("device_code")
	if raw == "" {
		return nil, ErrInvalidRequest.WithDescription("device_code is missing")
	}
	hash := secret.Digest(raw)
	now := g.clock.Now()
	prev, err := g.store.PollDeviceCode(ctx, g.tenant, hash, now)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, ErrExpiredToken.WithDescription("the device code is unknown or has expired")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	if prev.ClientID != client.ID {
		return nil, deviceDecision.issuedToAnother()
	}
	if err := deviceDecision.answer(prev.Status, prev.LastPolledAt, prev.Interval, now); err != nil {
		return nil, err
	}
	d, err := g.store.RedeemDeviceCode(ctx, g.tenant, hash, now)
	if err != nil {
		return nil, deviceDecision.redeemError(err)
	}
	return g.mint.issue(ctx, issueParams{
		grantType: GrantDeviceCode, client: client, grantID: secret.OrderedID(now), subject: d.UserID, scope: d.Scope,
		sessionID: d.SessionID, authTime: d.AuthTime, jkt: jkt,
	}, createTokens(ctx, g.store))
}
