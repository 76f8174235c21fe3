package core

import (
	"context"
	"errors"
	"net/url"
	"time"

	"oauth2-server.dev/core/pkce"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// authorizationCodeGrant redeems authorization codes (RFC 6749 §4.1.3).
type authorizationCodeGrant struct {
	grantBase
	store authCodeRedeemer
}

// authCodeRedeemer is what the code grant reads and changes.
type authCodeRedeemer interface {
	GetAuthCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.AuthorizationCode, error)
	RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, r ports.Redemption) (*ports.AuthorizationCode, error)
}

func newAuthorizationCodeGrant(p *Provider) grantHandler {
	return authorizationCodeGrant{grantBase: p.grantBase(), store: p.store}
}

func (g authorizationCodeGrant) handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error) {
	code := form.Get("code")
	if code == "" {
		return nil, ErrInvalidRequest.WithDescription("code is missing")
	}
	requested, derr := requestedAuthorizationDetails(form)
	if derr != nil {
		return nil, derr
	}
	bad := ErrInvalidGrant.WithDescription("the authorization code is invalid, expired or already used")
	hash := secret.Digest(code)
	now := g.clock.Now()
	rec, err := g.store.GetAuthCode(ctx, g.tenant, hash, now)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return nil, bad
	case err != nil:
		return nil, ErrServerError.Wrap(err)
	}
	// RFC 6749 §4.1.2: a code used twice revokes the tokens it issued,
	// whoever presents it again.
	reused := g.mint.event(ctx, ports.EventCodeReused, rec.UserID, client.ID, map[string]string{"grant_id": rec.GrantID})
	if rec.UsedAt != nil {
		_, err := g.store.RedeemAuthCode(ctx, g.tenant, hash, now, ports.Redemption{ReplayEvents: []ports.Event{reused}})
		return nil, g.replayed(err, bad)
	}
	// RFC 6749 §4.1.3: the code was issued to this client, and the
	// redirect_uri must repeat the one of the authorization request.
	if rec.ClientID != client.ID {
		return nil, bad.Wrap(errors.New("code issued to another client"))
	}
	if rec.RedirectURI != "" && form.Get("redirect_uri") != rec.RedirectURI {
		return nil, ErrInvalidGrant.WithDescription("redirect_uri does not match the authorization request")
	}
	if err := pkce.Verify(rec.CodeChallenge, form.Get("code_verifier")); err != nil {
		return nil, ErrInvalidGrant.WithDescription(err.Error())
	}
	// RFC 9449 §10: a code requested with dpop_jkt is redeemed only with
	// a proof of that key.
	if rec.DPoPJKT != "" && rec.DPoPJKT != jkt {
		return nil, ErrInvalidGrant.WithDescription("the authorization code is bound to a DPoP key (dpop_jkt); send a DPoP proof signed by it")
	}
	audiences, rerr := narrowResources(rec.Resources, form["resource"])
	if rerr != nil {
		return nil, rerr
	}
	details, err := narrowAuthorizationDetails(rec.AuthorizationDetails, requested)
	if err != nil {
		return nil, err
	}
	authTime := rec.AuthTime
	redeemed := g.mint.event(ctx, ports.EventCodeRedeemed, rec.UserID, client.ID, map[string]string{"grant_id": rec.GrantID})
	resp, err := g.mint.issue(ctx, issueParams{
		grantType: GrantAuthorizationCode, client: client, grantID: rec.GrantID, subject: rec.UserID, scope: rec.Scope,
		sessionID: rec.SessionID, authTime: &authTime, nonce: rec.Nonce, code: code,
		audiences: audiences, resources: rec.Resources, jkt: jkt,
		details: details, grantDetails: rec.AuthorizationDetails,
	}, func(tokens []*ports.Token, evs []ports.Event) error {
		// The code is used and its tokens stored in one change, so that a
		// replay racing this request finds them to revoke.
		_, err := g.store.RedeemAuthCode(ctx, g.tenant, hash, now, ports.Redemption{
			Issued: tokens, Events: append([]ports.Event{redeemed}, evs...), ReplayEvents: []ports.Event{reused},
		})
		return err
	})
	if errors.Is(err, ports.ErrAlreadyUsed) || errors.Is(err, ports.ErrNotFound) {
		return nil, g.replayed(err, bad)
	}
	return resp, err
}

// replayed answers a redemption that lost: to an earlier one, whose grant
// the store has revoked, or to the code's expiry.
func (g authorizationCodeGrant) replayed(err error, bad *Error) error {
	switch {
	case errors.Is(err, ports.ErrAlreadyUsed):
		return bad.Wrap(errors.New("authorization code replayed; grant revoked"))
	case errors.Is(err, ports.ErrNotFound):
		return bad
	case err == nil:
		// A used code cannot be redeemed; a store saying otherwise is
		// broken.
		return ErrServerError.Wrap(errors.New("a used authorization code was redeemed again"))
	}
	return ErrServerError.Wrap(err)
}
