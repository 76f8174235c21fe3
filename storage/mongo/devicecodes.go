package mongostore

import (
	"context"
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
	// and redemptions are recorded as claims (see pendingColl).
	LastPolledAt *int64 `bson:"last_polled_at"`
	CreatedAt    int64  `bson:"created_at"`
	ExpiresAt    int64  `bson:"expires_at"`
	UsedAt       *int64 `bson:"used_at"`
}

var deviceCodes = pendingColl[ports.DeviceCode, deviceCodeDoc]{
	noun: "device code", coll: func(s *Store) *mongo.Collection { return s.deviceCodes },
	name: "user_code", decision: claimDeviceDecision, redeemed: claimDeviceRedeemed,
	fromDoc: func(doc *deviceCodeDoc) *ports.DeviceCode {
		return &ports.DeviceCode{
			Hash: doc.Hash, Tenant: doc.Tenant, UserCode: doc.UserCode, ClientID: doc.ClientID, Scope: doc.Scope,
			Status: doc.Status, UserID: doc.UserID, SessionID: doc.SessionID, AuthTime: fromNullMicros(doc.AuthTime),
			Interval: time.Duration(doc.IntervalNS), LastPolledAt: fromNullMicros(doc.LastPolledAt),
			CreatedAt: fromMicros(doc.CreatedAt), ExpiresAt: fromMicros(doc.ExpiresAt), UsedAt: fromNullMicros(doc.UsedAt),
		}
	},
	polled: func(doc *deviceCodeDoc) (bson.ObjectID, *int64) { return doc.ID, doc.LastPolledAt },
	fields: func(d *ports.DeviceCode) pendingFields {
		return pendingFields{d.Tenant, d.Hash, &d.Status, d.ExpiresAt, &d.UsedAt}
	},
	decided: func(d *ports.DeviceCode, c *claimDoc) {
		d.Status, d.UserID, d.SessionID, d.AuthTime = c.Status, c.UserID, c.SessionID, fromNullMicros(c.AuthTime)
	},
	pending: ports.DevicePending, approved: ports.DeviceApproved, denied: ports.DeviceDenied,
	pollLive: true,
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

// GetDeviceCodeByUserCode returns the request. ErrNotFound if absent or
// expired at now.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	return deviceCodes.get(ctx, s, tenant, userCode, now)
}

// DecideDeviceCode moves a pending request to status for userID by
// inserting its decision claim, so that of concurrent decisions exactly
// one lands, then saves consent, if any (see claimDecision). ErrNotFound
// if absent or expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideDeviceCode(ctx context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return deviceCodes.decide(ctx, s, tenant, userCode, status, now, consent, evs, func(c *claimDoc) {
		c.UserID, c.SessionID, c.AuthTime = userID, sessionID, nullMicros(&authTime)
	})
}

// PollDeviceCode records a poll at now and returns the request as it was
// before the poll (see pendingColl.poll). ErrNotFound if absent or
// expired at now.
func (s *Store) PollDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return deviceCodes.poll(ctx, s, tenant, hash, now)
}

// RedeemDeviceCode marks an approved request used at now by inserting its
// redemption claim, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired, as RedeemAuthCode
// does.
func (s *Store) RedeemDeviceCode(ctx context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	return deviceCodes.redeem(ctx, s, tenant, hash, now)
}
