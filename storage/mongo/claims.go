package mongostore

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"oauth2-server.dev/ports"
)

// Claim kinds: what a claim document records about the record its key
// names. A claim is inserted once and never changed; the unique index on
// tenant, kind and key lets exactly one of concurrent inserts land, which
// is what makes single-use operations atomic without transactions (see the
// package comment).
const (
	claimAuthCode       = "auth_code_redeemed"    // key: code hash; At: UsedAt
	claimRotation       = "refresh_token_rotated" // key: token id; At: UsedAt
	claimDeviceDecision = "device_decided"        // key: device hash; the decision fields
	claimDeviceRedeemed = "device_redeemed"       // key: device hash; At: UsedAt
	claimCIBADecision   = "ciba_decided"          // key: auth_req_id hash; the decision fields
	claimCIBARedeemed   = "ciba_redeemed"         // key: auth_req_id hash; At: UsedAt
)

// claimDoc is one claim. ExpiresAt copies the claimed record's expiry, so
// that PurgeExpired removes the two together.
type claimDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	Tenant    string        `bson:"tenant"`
	Kind      string        `bson:"kind"`
	Key       string        `bson:"key"`
	At        int64         `bson:"at"`
	ExpiresAt int64         `bson:"expires_at"`

	// Set on device and CIBA decisions only (UserID on device decisions).
	Status    string `bson:"status,omitempty"`
	UserID    string `bson:"user_id,omitempty"`
	SessionID string `bson:"session_id,omitempty"`
	AuthTime  *int64 `bson:"auth_time,omitempty"`
}

func newClaim(tenant, kind, key string, at, expiresAt time.Time) *claimDoc {
	return &claimDoc{ID: bson.NewObjectID(), Tenant: tenant, Kind: kind, Key: key, At: micros(at), ExpiresAt: micros(expiresAt)}
}

// claim inserts c and reports whether it won: false, without error, when
// another claim of the same kind and key was there first.
func (s *Store) claim(ctx context.Context, c *claimDoc) (bool, error) {
	_, err := s.claims.InsertOne(ctx, c)
	switch {
	case err == nil:
		return true, nil
	case mongo.IsDuplicateKeyError(err):
		return false, nil
	default:
		return false, err
	}
}

// claimWithTokens inserts the tokens a code or a refresh token buys, then
// its claim c, and reports whether the claim won. The tokens go in first so
// that a loser, which revokes the grant once its claim fails, always finds
// the winner's tokens there to revoke. A loser, or a claim that fails,
// deletes the tokens it inserted, which no one has seen.
func (s *Store) claimWithTokens(ctx context.Context, issued []*ports.Token, c *claimDoc) ([]bson.ObjectID, bool, error) {
	ids, err := s.insertTokens(ctx, issued)
	if err != nil {
		return nil, false, err
	}
	won, err := s.claim(ctx, c)
	if err != nil {
		return nil, false, errors.Join(err, deleteIDs(ctx, s.tokens, ids))
	}
	if !won {
		return nil, false, deleteIDs(ctx, s.tokens, ids)
	}
	return ids, true, nil
}

// claimDecision lands the decision claim c of a pending device or CIBA
// request, then saves consent, if any. Without transactions these are two
// writes, the decision's first: a decision that loses to another leaves no
// consent behind; a failure to save the consent after the decision landed
// fails the call and keeps the decision. ErrAlreadyUsed if another
// decision was there first.
func (s *Store) claimDecision(ctx context.Context, op string, c *claimDoc, consent *ports.Consent) error {
	won, err := s.claim(ctx, c)
	if err != nil {
		return translate(op, err)
	}
	if !won {
		return alreadyUsed(op)
	}
	if consent == nil {
		return nil
	}
	return s.saveConsent(ctx, consent)
}

// findClaim returns the claim of kind on key, or nil if there is none.
func (s *Store) findClaim(ctx context.Context, tenant, kind, key string) (*claimDoc, error) {
	var c claimDoc
	err := s.claims.FindOne(ctx, bson.D{{Key: "tenant", Value: tenant}, {Key: "kind", Value: kind}, {Key: "key", Value: key}}).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// cleanupTimeout bounds the compensating deletes that undo a half-done
// write. They run even when the caller's context has ended: leaving the
// half behind would be worse than finishing late.
const cleanupTimeout = 10 * time.Second

// deleteIDs removes the documents with the given _ids, which the caller
// inserted itself.
func deleteIDs(ctx context.Context, coll *mongo.Collection, ids []bson.ObjectID) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	return err
}

// redeemOnce inserts the redemption claim of kind for key, for records
// whose redemption is decided by that claim alone. It reports whether this
// call won and when the record was used: now if it won, else the winning
// claim's time (nil if that claim is gone already).
func (s *Store) redeemOnce(ctx context.Context, tenant, kind, key string, now, expiresAt time.Time) (*time.Time, bool, error) {
	won, err := s.claim(ctx, newClaim(tenant, kind, key, now, expiresAt))
	if err != nil {
		return nil, false, err
	}
	if won {
		usedAt := fromMicros(micros(now))
		return &usedAt, true, nil
	}
	c, err := s.findClaim(ctx, tenant, kind, key)
	if err != nil || c == nil {
		return nil, false, err
	}
	return fromNullMicros(&c.At), false, nil
}
