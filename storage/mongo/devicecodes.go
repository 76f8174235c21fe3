package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"oauth2-server.dev/ports"
)

type deviceCodeDoc struct {
	ID        bson.ObjectID `bson:"_id,omitempty"`
	Tenant    string        `bson:"tenant"`
	Hash      string        `bson:"hash"`
	UserCode  string        `bson:"user_code"`
	ClientID  string        `bson:"client_id"`
	Scope     string        `bson:"scope"`
	Status    string        `bson:"status"`
	UserID    string        `bson:"user_id"`
	SessionID string        `bson:"session_id"`
	AuthTime  *int64        `bson:"auth_time"`
	// IntervalNS is the polling interval in nanoseconds, a Duration's own
	// unit.
	IntervalNS int64 `bson:"interval_ns"`
	// LastPolledAt is the one field that changes after insert; decisions
	// and redemptions are recorded as claims.
	LastPolledAt *int64 `bson:"last_polled_at"`
	CreatedAt    int64  `bson:"created_at"`
	ExpiresAt    int64  `bson:"expires_at"`
	UsedAt       *int64 `bson:"used_at"`
}

// CreateDeviceCode stores a new request. ErrConflict if the hash or the
// user code exists in the tenant.
func (s *Store) CreateDeviceCode(ctx context.Context, d *ports.DeviceCode) error {
	_, err := s.deviceCodes.InsertOne(ctx, &deviceCodeDoc{
		Tenant: d.Tenant, Hash: d.Hash, UserCode: d.UserCode, ClientID: d.ClientID, Scope: d.Scope,
		Status: d.Status, UserID: d.UserID, SessionID: d.SessionID, AuthTime: nullMicros(d.AuthTime),
		IntervalNS: int64(d.Interval), LastPolledAt: nullMicros(d.LastPolledAt), CreatedAt: micros(d.CreatedAt),
		ExpiresAt: micros(d.ExpiresAt), UsedAt: nullMicros(d.UsedAt),
	})
	return translate("create device code", err)
}

// deviceCode turns a stored request into its current state by merging in
// its decision and redemption claims.
func (s *Store) deviceCode(ctx context.Context, doc *deviceCodeDoc) (*ports.DeviceCode, error) {
	d := &ports.DeviceCode{
		Hash: doc.Hash, Tenant: doc.Tenant, UserCode: doc.UserCode, ClientID: doc.ClientID, Scope: doc.Scope,
		Status: doc.Status, UserID: doc.UserID, SessionID: doc.SessionID, AuthTime: fromNullMicros(doc.AuthTime),
		Interval: time.Duration(doc.IntervalNS), LastPolledAt: fromNullMicros(doc.LastPolledAt),
		CreatedAt: fromMicros(doc.CreatedAt), ExpiresAt: fromMicros(doc.ExpiresAt), UsedAt: fromNullMicros(doc.UsedAt),
	}
	if d.Status == ports.DevicePending {
		c, err := s.findClaim(ctx, d.Tenant, claimDeviceDecision, d.Hash)
		if err != nil {
			return nil, err
		}
		if c != nil {
			d.Status, d.UserID, d.SessionID, d.AuthTime = c.Status, c.UserID, c.SessionID, fromNullMicros(c.AuthTime)
		}
	}
	if d.Status == ports.DeviceApproved && d.UsedAt == nil {
		c, err := s.findClaim(ctx, d.Tenant, claimDeviceRedeemed, d.Hash)
		if err != nil {
			return nil, err
		}
		if c != nil {
			d.UsedAt = fromNullMicros(&c.At)
		}
	}
	return d, nil
}

func (s *Store) findDeviceCode(ctx context.Context, filter bson.D) (*deviceCodeDoc, *ports.DeviceCode, error) {
	var doc deviceCodeDoc
	if err := s.deviceCodes.FindOne(ctx, filter).Decode(&doc); err != nil {
		return nil, nil, err
	}
	d, err := s.deviceCode(ctx, &doc)
	if err != nil {
		return nil, nil, err
	}
	return &doc, d, nil
}

func byUserCode(tenant, userCode string) bson.D {
	return bson.D{{Key: "tenant", Value: tenant}, {Key: "user_code", Value: userCode}}
}

func byHash(tenant, hash string) bson.D {
	return bson.D{{Key: "tenant", Value: tenant}, {Key: "hash", Value: hash}}
}

func liveAt(filter bson.D, now time.Time) bson.D {
	return append(filter, bson.E{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: micros(now)}}})
}

// GetDeviceCodeByUserCode returns the request. ErrNotFound if absent or
// expired at now.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	_, d, err := s.findDeviceCode(ctx, liveAt(byUserCode(tenant, userCode), now))
	if err != nil {
		return nil, translate("get device code", err)
	}
	return d, nil
}

// DecideDeviceCode moves a pending request to status for userID by
// inserting its decision claim, so that of concurrent decisions exactly
// one lands, then saves consent, if any (see claimDecision). ErrNotFound
// if absent or expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return s.withEvents(ctx, "decide device code", evs, func() error {
		return s.decideDeviceCode(ctx, tenant, userCode, status, userID, sessionID, authTime, now, consent)
	})
}

func (s *Store) decideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent) error {
	const op = "decide device code"
	if status != ports.DeviceApproved && status != ports.DeviceDenied {
		return fmt.Errorf("mongostore: %s: status %q is not a decision", op, status)
	}
	_, d, err := s.findDeviceCode(ctx, liveAt(byUserCode(tenant, userCode), now))
	if err != nil {
		return translate(op, err)
	}
	if d.Status != ports.DevicePending {
		return alreadyUsed(op)
	}
	c := newClaim(tenant, claimDeviceDecision, d.Hash, now, d.ExpiresAt)
	c.Status, c.UserID, c.SessionID, c.AuthTime = status, userID, sessionID, nullMicros(&authTime)
	return s.claimDecision(ctx, op, c, consent)
}

// pollAttempts bounds how often PollDeviceCode rereads after losing the
// compare-and-swap of LastPolledAt to a concurrent poll.
const pollAttempts = 3

// PollDeviceCode records a poll at now and returns the request as it was
// before the poll. The update only lands if LastPolledAt is still what
// was read, so concurrent polls each see the one before them rather than
// all seeing the same old time. ErrNotFound if absent or expired at now.
func (s *Store) PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	const op = "poll device code"
	var d *ports.DeviceCode
	for range pollAttempts {
		doc, cur, err := s.findDeviceCode(ctx, liveAt(byHash(tenant, hash), now))
		if err != nil {
			return nil, translate(op, err)
		}
		d = cur
		recorded, err := recordPoll(ctx, s.deviceCodes, doc.ID, doc.LastPolledAt, now)
		if err != nil {
			return nil, translate(op, err)
		}
		if recorded {
			return d, nil
		}
	}
	// Polled faster than it can be recorded: what was read last tells the
	// caller as much.
	return d, nil
}

// RedeemDeviceCode marks an approved request used at now by inserting its
// redemption claim, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired, as RedeemAuthCode
// does.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	const op = "redeem device code"
	_, d, err := s.findDeviceCode(ctx, byHash(tenant, hash))
	if err != nil {
		return nil, translate(op, err)
	}
	switch {
	case d.UsedAt != nil:
		return d, alreadyUsed(op)
	case !now.Before(d.ExpiresAt):
		return nil, notFound(op, "expired")
	case d.Status != ports.DeviceApproved:
		return nil, notFound(op, d.Status)
	}
	usedAt, won, err := s.redeemOnce(ctx, tenant, claimDeviceRedeemed, hash, now, d.ExpiresAt)
	if err != nil {
		return nil, translate(op, err)
	}
	d.UsedAt = usedAt
	if !won {
		return d, alreadyUsed(op)
	}
	return d, nil
}

// recordPoll sets last_polled_at to now on the document id, if it still
// holds last: of concurrent polls, each then sees the one before it.
func recordPoll(ctx context.Context, coll *mongo.Collection, id bson.ObjectID, last *int64, now time.Time) (bool, error) {
	res, err := coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "last_polled_at", Value: last}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "last_polled_at", Value: micros(now)}}}})
	if err != nil {
		return false, err
	}
	return res.MatchedCount > 0, nil
}
