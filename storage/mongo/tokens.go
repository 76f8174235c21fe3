package mongostore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"oauth2-server.dev/ports"
)

type tokenDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	Tenant    string        `bson:"tenant"`
	TokenID   string        `bson:"id"`
	Kind      string        `bson:"kind"`
	GrantID   string        `bson:"grant_id"`
	ClientID  string        `bson:"client_id"`
	Subject   string        `bson:"subject"`
	Scope     string        `bson:"scope"`
	Audience  string        `bson:"audience"`
	SessionID string        `bson:"session_id"`
	AuthTime  *int64        `bson:"auth_time"`
	ParentID  string        `bson:"parent_id"`
	IssuedAt  int64         `bson:"issued_at"`
	ExpiresAt int64         `bson:"expires_at"`
	// UsedAt is set only on a token created used; a rotation is recorded
	// as a claim.
	UsedAt *int64 `bson:"used_at"`
	// RevokedAt is the one field that changes after insert.
	RevokedAt *int64 `bson:"revoked_at"`
	// Fields added after the first release: absent on older documents,
	// which read back unbound and without details.
	JKT                  string `bson:"cnf_jkt,omitempty"`
	X5TS256              string `bson:"cnf_x5t,omitempty"`
	AuthorizationDetails string `bson:"authorization_details,omitempty"`
}

func toTokenDoc(t *ports.Token) *tokenDoc {
	return &tokenDoc{
		ID: bson.NewObjectID(), Tenant: t.Tenant, TokenID: t.ID, Kind: t.Kind, GrantID: t.GrantID,
		ClientID: t.ClientID, Subject: t.Subject, Scope: t.Scope, Audience: t.Audience, SessionID: t.SessionID,
		AuthTime: nullMicros(t.AuthTime), ParentID: t.ParentID, IssuedAt: micros(t.IssuedAt),
		ExpiresAt: micros(t.ExpiresAt), UsedAt: nullMicros(t.UsedAt), RevokedAt: nullMicros(t.RevokedAt),
		JKT: t.JKT, X5TS256: t.X5TS256, AuthorizationDetails: t.AuthorizationDetails,
	}
}

func (d *tokenDoc) token() *ports.Token {
	return &ports.Token{
		ID: d.TokenID, Tenant: d.Tenant, Kind: d.Kind, GrantID: d.GrantID, ClientID: d.ClientID,
		Subject: d.Subject, Scope: d.Scope, Audience: d.Audience, SessionID: d.SessionID,
		AuthTime: fromNullMicros(d.AuthTime), ParentID: d.ParentID, IssuedAt: fromMicros(d.IssuedAt),
		ExpiresAt: fromMicros(d.ExpiresAt), UsedAt: fromNullMicros(d.UsedAt), RevokedAt: fromNullMicros(d.RevokedAt),
		JKT: d.JKT, X5TS256: d.X5TS256, AuthorizationDetails: d.AuthorizationDetails,
	}
}

// insertTokens stores tokens and returns the _ids it gave them. Without a
// transaction the batch is made all-or-nothing by hand: on failure the
// documents already inserted, which carry _ids no one else has, are
// deleted again.
func (s *Store) insertTokens(ctx context.Context, tokens []*ports.Token) ([]bson.ObjectID, error) {
	docs := make([]any, len(tokens))
	ids := make([]bson.ObjectID, len(tokens))
	for i, t := range tokens {
		d := toTokenDoc(t)
		docs[i], ids[i] = d, d.ID
	}
	if len(docs) == 0 {
		return nil, nil
	}
	if _, err := s.tokens.InsertMany(ctx, docs); err != nil {
		if cerr := deleteIDs(ctx, s.tokens, ids); cerr != nil {
			return nil, fmt.Errorf("%w (and removing the tokens inserted: %v)", err, cerr)
		}
		return nil, err
	}
	return ids, nil
}

// CreateTokens stores newly issued tokens, all or none. ErrConflict if an
// id exists.
func (s *Store) CreateTokens(ctx context.Context, tokens []*ports.Token, evs ...ports.Event) error {
	return s.withEvents(ctx, "create tokens", evs, func() error {
		_, err := s.insertTokens(ctx, tokens)
		return translate("create tokens", err)
	})
}

// GetToken returns a token whatever its state. ErrNotFound if absent.
func (s *Store) GetToken(ctx context.Context, tenant, id string) (*ports.Token, error) {
	t, err := s.getToken(ctx, tenant, id)
	return t, translate("get token", err)
}

// getToken reads a token, with UsedAt from its rotation claim.
func (s *Store) getToken(ctx context.Context, tenant, id string) (*ports.Token, error) {
	var d tokenDoc
	if err := s.tokens.FindOne(ctx, byID(tenant, id)).Decode(&d); err != nil {
		return nil, err
	}
	t := d.token()
	if t.Kind == ports.TokenRefresh && t.UsedAt == nil {
		c, err := s.findClaim(ctx, tenant, claimRotation, id)
		if err != nil {
			return nil, err
		}
		if c != nil {
			t.UsedAt = fromNullMicros(&c.At)
		}
	}
	return t, nil
}

// RotateRefreshToken consumes the refresh token oldID and stores the
// tokens issued in exchange, and returns the consumed token. ErrNotFound
// if the token is absent, expired at now, revoked, or not a refresh token.
// A token rotated before is a replay: the whole grant is revoked and the
// stored token comes back with ErrAlreadyUsed, even if an earlier replay
// already revoked it.
//
// The rotation claim decides the race. The issued tokens are inserted
// before it, not after: a loser, which revokes the grant once its claim
// fails, then always finds the winner's tokens there to revoke. Losers
// delete the tokens they inserted, which no one has seen.
func (s *Store) RotateRefreshToken(ctx context.Context, tenant, oldID string, now time.Time, r ports.Rotation) (*ports.Token, error) {
	return spendWithEvents(s, ctx, "rotate refresh token", r.Events, r.ReplayEvents, func() (*ports.Token, error) {
		return s.rotate(ctx, tenant, oldID, now, r.Issued)
	})
}

func (s *Store) rotate(ctx context.Context, tenant, oldID string, now time.Time, issued []*ports.Token) (*ports.Token, error) {
	const op = "rotate refresh token"
	old, err := s.getToken(ctx, tenant, oldID)
	if err != nil {
		return nil, translate(op, err)
	}
	switch {
	case old.Kind != ports.TokenRefresh:
		return nil, notFound(op, "not a refresh token")
	case old.UsedAt != nil:
		return s.replay(ctx, old, now)
	case old.RevokedAt != nil:
		return nil, notFound(op, "revoked")
	case !now.Before(old.ExpiresAt):
		return nil, notFound(op, "expired")
	}

	ids, won, err := s.claimWithTokens(ctx, issued, newClaim(tenant, claimRotation, oldID, now, old.ExpiresAt))
	if err != nil {
		return nil, translate(op, err)
	}
	if !won {
		// Read again for the UsedAt of the rotation that won.
		if old, err = s.getToken(ctx, tenant, oldID); err != nil {
			return nil, translate(op, err)
		}
		return s.replay(ctx, old, now)
	}

	// A revocation of the grant that read the grant's tokens before ours
	// were inserted missed them. It revoked the old token too, so check
	// it: if revoked, ours go as well, as if the revocation had come after
	// the rotation, which it did.
	var cur tokenDoc
	if err := s.tokens.FindOne(ctx, byID(tenant, oldID)).Decode(&cur); err != nil {
		return nil, translate(op, err)
	}
	if cur.RevokedAt != nil && len(ids) > 0 {
		_, err := s.tokens.UpdateMany(ctx,
			bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "revoked_at", Value: nil}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: *cur.RevokedAt}}}})
		if err != nil {
			return nil, translate(op, err)
		}
	}
	usedAt := fromMicros(micros(now))
	old.UsedAt = &usedAt
	return old, nil
}

// replay handles a rotated refresh token presented again.
func (s *Store) replay(ctx context.Context, old *ports.Token, now time.Time) (*ports.Token, error) {
	// RFC 6819 §5.2.2.3: a rotated refresh token presented again means two
	// parties hold it, and the server cannot tell which is the attacker,
	// so every token of the grant goes.
	if err := s.revokeGrant(ctx, old.Tenant, old.GrantID, now); err != nil {
		return nil, translate("rotate refresh token: revoke grant", err)
	}
	if old.RevokedAt == nil {
		revokedAt := fromMicros(micros(now))
		old.RevokedAt = &revokedAt
	}
	return old, alreadyUsed("rotate refresh token")
}

// RevokeToken revokes one token at now. Revoking an absent or revoked
// token is not an error, and a revoked token keeps its first revocation
// time.
func (s *Store) RevokeToken(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) error {
	return s.withEvents(ctx, "revoke token", evs, func() error { return s.revokeToken(ctx, tenant, id, now) })
}

func (s *Store) revokeToken(ctx context.Context, tenant, id string, now time.Time) error {
	_, err := s.tokens.UpdateOne(ctx, append(byID(tenant, id), bson.E{Key: "revoked_at", Value: nil}), revokeAt(now))
	return translate("revoke token", err)
}

// RevokeGrant revokes every token of the grant at now.
func (s *Store) RevokeGrant(ctx context.Context, tenant, grantID string, now time.Time, evs ...ports.Event) error {
	return s.withEvents(ctx, "revoke grant", evs, func() error { return s.revokeGrant(ctx, tenant, grantID, now) })
}

func (s *Store) revokeGrant(ctx context.Context, tenant, grantID string, now time.Time) error {
	_, err := s.tokens.UpdateMany(ctx,
		bson.D{{Key: "tenant", Value: tenant}, {Key: "grant_id", Value: grantID}, {Key: "revoked_at", Value: nil}},
		revokeAt(now))
	return translate("revoke grant", err)
}

// RevokeClientTokens revokes, at now, every token issued to the client
// that is not revoked yet, and returns how many it revoked. Tokens revoked
// before keep their first revocation time and are not counted. A rotation
// racing with it may insert the client's new tokens after the update has
// passed; the rotation then finds its old token revoked and revokes them
// too (see RotateRefreshToken), though they are not in the count.
func (s *Store) RevokeClientTokens(ctx context.Context, tenant, clientID string, now time.Time) (int, error) {
	res, err := s.tokens.UpdateMany(ctx,
		bson.D{{Key: "tenant", Value: tenant}, {Key: "client_id", Value: clientID}, {Key: "revoked_at", Value: nil}},
		revokeAt(now))
	if err != nil {
		return 0, translate("revoke client tokens", err)
	}
	return int(res.ModifiedCount), nil
}

func revokeAt(now time.Time) bson.D {
	return bson.D{{Key: "$set", Value: bson.D{{Key: "revoked_at", Value: micros(now)}}}}
}

// SessionClients returns the ids of the clients holding tokens issued in
// the login session, in any state, ordered by id byte by byte. Tokens
// issued outside a login carry no session id, so an empty sessionID names
// no session and yields no clients.
func (s *Store) SessionClients(ctx context.Context, tenant, sessionID string) ([]string, error) {
	if sessionID == "" {
		return nil, nil
	}
	cur, err := s.tokens.Find(ctx,
		bson.D{{Key: "tenant", Value: tenant}, {Key: "session_id", Value: sessionID}},
		options.Find().SetProjection(bson.D{{Key: "client_id", Value: 1}}))
	if err != nil {
		return nil, translate("session clients", err)
	}
	var docs []struct {
		ClientID string `bson:"client_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate("session clients", err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ClientID
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
