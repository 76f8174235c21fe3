package core

import (
	"context"
	"errors"
	"net/url"
	"time"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// refreshTokenGrant exchanges a refresh token for new tokens (RFC 6749 §6),
// rotating the refresh token on every use.
type refreshTokenGrant struct {
	grantBase
	store refreshTokenRotator
}

// refreshTokenRotator is what the refresh grant reads and changes.
type refreshTokenRotator interface {
	GetToken(ctx context.Context, tenant, id string) (*ports.Token, error)
	RotateRefreshToken(ctx context.Context, tenant, oldID string, now time.Time, r ports.Rotation) (*ports.Token, error)
}

func newRefreshTokenGrant(p *Provider) grantHandler {
	return refreshTokenGrant{grantBase: p.grantBase(), store: p.store}
}

func (g refreshTokenGrant) handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error) {
	raw := form.Get("refresh_token")
	if raw == "" {
		return nil, ErrInvalidRequest.WithDescription("refresh_token is missing")
	}
	bad := ErrInvalidGrant.WithDescription("the refresh token is invalid, expired or revoked")
	id := secret.Digest(raw)
	old, err := g.store.GetToken(ctx, g.tenant, id)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	// RFC 6749 §6: the refresh token was issued to this client.
	if old.Kind != ports.TokenRefresh || old.ClientID != client.ID {
		return nil, bad
	}
	// RFC 9449 §5: a refresh token bound to a DPoP key is used only with a
	// proof of that key.
	if old.JKT != "" && old.JKT != jkt {
		return nil, ErrInvalidGrant.WithDescription("the refresh token is bound to a DPoP key; send a DPoP proof signed by it")
	}
	// RFC 8705 §4: one bound to a certificate only over a connection with
	// that certificate.
	if old.X5TS256 != "" && old.X5TS256 != presentedCertificate(ctx) {
		return nil, ErrInvalidGrant.WithDescription("the refresh token is bound to a client certificate; present that certificate")
	}
	scope := old.Scope
	if s := form.Get("scope"); s != "" {
		// RFC 6749 §6: a narrower scope may be asked for, never a wider.
		want, ok := ParseScope(s)
		if !ok || !subset(want, old.Scope) {
			return nil, ErrInvalidScope.WithDescription("scope exceeds the original grant")
		}
		scope = JoinScope(want)
	}
	granted := splitAudience(old.Audience)
	audiences, rerr := narrowResources(granted, form["resource"])
	if rerr != nil {
		return nil, rerr
	}
	// RFC 9396 §6: a refresh may ask for part of the grant's
	// authorization details; the new refresh token keeps all of them.
	requested, derr := requestedAuthorizationDetails(form)
	if derr != nil {
		return nil, derr
	}
	details, err := narrowAuthorizationDetails(old.AuthorizationDetails, requested)
	if err != nil {
		return nil, err
	}
	now := g.clock.Now()
	// RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the
	// family; the store does so atomically, with this event.
	reused := g.mint.event(ctx, ports.EventRefreshTokenReused, old.Subject, client.ID, map[string]string{"grant_id": old.GrantID})
	rotate := func(tokens []*ports.Token, evs []ports.Event) error {
		_, err := g.store.RotateRefreshToken(ctx, g.tenant, id, now, ports.Rotation{
			Issued: tokens, Events: evs, ReplayEvents: []ports.Event{reused},
		})
		return err
	}
	resp, err := g.mint.issue(ctx, issueParams{
		grantType: GrantRefreshToken, client: client, grantID: old.GrantID, subject: old.Subject, scope: scope,
		sessionID: old.SessionID, authTime: old.AuthTime, parentID: id,
		audiences: audiences, resources: granted, jkt: jkt,
		details: details, grantDetails: old.AuthorizationDetails,
	}, rotate)
	switch {
	case errors.Is(err, ports.ErrAlreadyUsed):
		return nil, bad.Wrap(errors.New("refresh token reused; grant revoked"))
	case errors.Is(err, ports.ErrNotFound):
		return nil, bad
	}
	return resp, err
}
