package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"oauth2-server.dev/ports"
)

type authCodeDoc struct {
	ID                  bson.ObjectID `bson:"_id,omitempty"`
	Tenant              string        `bson:"tenant"`
	Hash                string        `bson:"hash"`
	GrantID             string        `bson:"grant_id"`
	ClientID            string        `bson:"client_id"`
	UserID              string        `bson:"user_id"`
	SessionID           string        `bson:"session_id"`
	RedirectURI         string        `bson:"redirect_uri"`
	Scope               string        `bson:"scope"`
	Resources           []string      `bson:"resources"`
	Nonce               string        `bson:"nonce"`
	CodeChallenge       string        `bson:"code_challenge"`
	CodeChallengeMethod string        `bson:"code_challenge_method"`
	AuthTime            int64         `bson:"auth_time"`
	CreatedAt           int64         `bson:"created_at"`
	ExpiresAt           int64         `bson:"expires_at"`
	// UsedAt is set only on a code created used; a redemption is recorded
	// as a claim.
	UsedAt *int64 `bson:"used_at"`
	// Fields added after the first release, absent on older documents.
	AuthorizationDetails string `bson:"authorization_details,omitempty"`
	DPoPJKT              string `bson:"dpop_jkt,omitempty"`
}

func (d *authCodeDoc) code() *ports.AuthorizationCode {
	return &ports.AuthorizationCode{
		Hash: d.Hash, Tenant: d.Tenant, GrantID: d.GrantID, ClientID: d.ClientID, UserID: d.UserID,
		SessionID: d.SessionID, RedirectURI: d.RedirectURI, Scope: d.Scope, Resources: d.Resources, Nonce: d.Nonce,
		CodeChallenge: d.CodeChallenge, CodeChallengeMethod: d.CodeChallengeMethod,
		AuthTime: fromMicros(d.AuthTime), CreatedAt: fromMicros(d.CreatedAt), ExpiresAt: fromMicros(d.ExpiresAt),
		UsedAt: fromNullMicros(d.UsedAt), AuthorizationDetails: d.AuthorizationDetails, DPoPJKT: d.DPoPJKT,
	}
}

// CreateAuthCode stores a new code. ErrConflict if the hash exists.
func (s *Store) CreateAuthCode(ctx context.Context, c *ports.AuthorizationCode, evs ...ports.Event) error {
	return s.withEvents(ctx, "create auth code", evs, func() error { return s.createAuthCode(ctx, c) })
}

func (s *Store) createAuthCode(ctx context.Context, c *ports.AuthorizationCode) error {
	_, err := s.authCodes.InsertOne(ctx, &authCodeDoc{
		Tenant: c.Tenant, Hash: c.Hash, GrantID: c.GrantID, ClientID: c.ClientID, UserID: c.UserID,
		SessionID: c.SessionID, RedirectURI: c.RedirectURI, Scope: c.Scope, Resources: c.Resources, Nonce: c.Nonce,
		CodeChallenge: c.CodeChallenge, CodeChallengeMethod: c.CodeChallengeMethod,
		AuthTime: micros(c.AuthTime), CreatedAt: micros(c.CreatedAt), ExpiresAt: micros(c.ExpiresAt),
		UsedAt: nullMicros(c.UsedAt), AuthorizationDetails: c.AuthorizationDetails, DPoPJKT: c.DPoPJKT,
	})
	return translate("create auth code", err)
}

// GetAuthCode returns the code, with UsedAt set if it was redeemed.
// ErrNotFound if absent, or unused and expired at now.
func (s *Store) GetAuthCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.AuthorizationCode, error) {
	const op = "get auth code"
	code, err := s.findAuthCode(ctx, tenant, hash)
	if err != nil {
		return nil, translate(op, err)
	}
	if code.UsedAt != nil {
		return code, nil
	}
	c, err := s.findClaim(ctx, tenant, claimAuthCode, hash)
	if err != nil {
		return nil, translate(op, err)
	}
	if c != nil {
		usedAt := fromMicros(c.At)
		code.UsedAt = &usedAt
		return code, nil
	}
	if !now.Before(code.ExpiresAt) {
		return nil, notFound(op, "expired")
	}
	return code, nil
}

func (s *Store) findAuthCode(ctx context.Context, tenant, hash string) (*ports.AuthorizationCode, error) {
	var d authCodeDoc
	err := s.authCodes.FindOne(ctx, bson.D{{Key: "tenant", Value: tenant}, {Key: "hash", Value: hash}}).Decode(&d)
	if err != nil {
		return nil, err
	}
	return d.code(), nil
}

// RedeemAuthCode marks the code used at now by inserting its redemption
// claim, and stores the tokens it buys. ErrNotFound if the code is absent
// or expired at now. A code used before revokes its grant and comes back,
// with the UsedAt of the redemption that won, together with
// ErrAlreadyUsed, even once expired (RFC 6749 §4.1.2).
//
// The claim decides the race. The tokens are inserted before it, as a
// refresh rotation's are: a loser, which revokes the grant once its claim
// fails, then always finds the winner's tokens there to revoke. Losers
// delete the tokens they inserted, which no one has seen.
func (s *Store) RedeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, r ports.Redemption) (*ports.AuthorizationCode, error) {
	return spendWithEvents(s, ctx, "redeem auth code", r.Events, r.ReplayEvents, func() (*ports.AuthorizationCode, error) {
		return s.redeemAuthCode(ctx, tenant, hash, now, r.Issued)
	})
}

func (s *Store) redeemAuthCode(ctx context.Context, tenant, hash string, now time.Time, issued []*ports.Token) (*ports.AuthorizationCode, error) {
	const op = "redeem auth code"
	code, err := s.findAuthCode(ctx, tenant, hash)
	if err != nil {
		return nil, translate(op, err)
	}
	if code.UsedAt != nil {
		return s.replayAuthCode(ctx, code, now)
	}
	if now.Before(code.ExpiresAt) {
		_, won, err := s.claimWithTokens(ctx, issued, newClaim(tenant, claimAuthCode, hash, now, code.ExpiresAt))
		if err != nil {
			return nil, translate(op, err)
		}
		if won {
			usedAt := fromMicros(micros(now))
			code.UsedAt = &usedAt
			return code, nil
		}
	}
	c, err := s.findClaim(ctx, tenant, claimAuthCode, hash)
	if err != nil {
		return nil, translate(op, err)
	}
	if c == nil {
		return nil, notFound(op, "expired")
	}
	usedAt := fromMicros(c.At)
	code.UsedAt = &usedAt
	return s.replayAuthCode(ctx, code, now)
}

// replayAuthCode handles a used code presented again: RFC 6749 §4.1.2
// asks that the tokens it bought be revoked.
func (s *Store) replayAuthCode(ctx context.Context, code *ports.AuthorizationCode, now time.Time) (*ports.AuthorizationCode, error) {
	if err := s.revokeGrant(ctx, code.Tenant, code.GrantID, now); err != nil {
		return nil, translate("redeem auth code: revoke grant", err)
	}
	return code, alreadyUsed("redeem auth code")
}
