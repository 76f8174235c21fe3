package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"oauth2-server.dev/ports"
)

type cibaRequestDoc struct {
	ID             bson.ObjectID `bson:"_id,omitempty"`
	Tenant         string        `bson:"tenant"`
	Hash           string        `bson:"hash"`
	DecisionHash   string        `bson:"decision_hash"`
	ClientID       string        `bson:"client_id"`
	UserID         string        `bson:"user_id"`
	Scope          string        `bson:"scope"`
	BindingMessage string        `bson:"binding_message"`
	DeliveryMode   string        `bson:"delivery_mode"`
	Ping           []byte        `bson:"ping,omitempty"` // absent, so nil, in poll mode
	Status         string        `bson:"status"`
	SessionID      string        `bson:"session_id"`
	AuthTime       *int64        `bson:"auth_time"`
	IntervalNS     int64         `bson:"interval_ns"`
	// LastPolledAt is the one field that changes after insert; decisions
	// and redemptions are recorded as claims (see pendingColl).
	LastPolledAt *int64 `bson:"last_polled_at"`
	CreatedAt    int64  `bson:"created_at"`
	ExpiresAt    int64  `bson:"expires_at"`
	UsedAt       *int64 `bson:"used_at"`
}

var cibaRequests = pendingColl[ports.CIBARequest, cibaRequestDoc]{
	noun: "ciba request", coll: func(s *Store) *mongo.Collection { return s.cibaRequests },
	name: "decision_hash", decision: claimCIBADecision, redeemed: claimCIBARedeemed,
	fromDoc: func(doc *cibaRequestDoc) *ports.CIBARequest {
		return &ports.CIBARequest{
			Hash: doc.Hash, Tenant: doc.Tenant, DecisionHash: doc.DecisionHash, ClientID: doc.ClientID, UserID: doc.UserID,
			Scope: doc.Scope, BindingMessage: doc.BindingMessage, DeliveryMode: doc.DeliveryMode, Ping: doc.Ping,
			Status: doc.Status, SessionID: doc.SessionID, AuthTime: fromNullMicros(doc.AuthTime),
			Interval: time.Duration(doc.IntervalNS), LastPolledAt: fromNullMicros(doc.LastPolledAt),
			CreatedAt: fromMicros(doc.CreatedAt), ExpiresAt: fromMicros(doc.ExpiresAt), UsedAt: fromNullMicros(doc.UsedAt),
		}
	},
	polled: func(doc *cibaRequestDoc) (bson.ObjectID, *int64) { return doc.ID, doc.LastPolledAt },
	fields: func(r *ports.CIBARequest) pendingFields {
		return pendingFields{r.Tenant, r.Hash, &r.Status, r.ExpiresAt, &r.UsedAt}
	},
	decided: func(r *ports.CIBARequest, c *claimDoc) {
		r.Status, r.SessionID, r.AuthTime = c.Status, c.SessionID, fromNullMicros(c.AuthTime)
	},
	pending: ports.CIBAPending, approved: ports.CIBAApproved, denied: ports.CIBADenied,
}

// CreateCIBARequest stores a new request. ErrConflict if the hash or the
// decision hash exists in the tenant.
func (s *Store) CreateCIBARequest(ctx context.Context, r *ports.CIBARequest, evs ...ports.Event) error {
	const op = "create ciba request"
	return s.withEvents(ctx, op, evs, func() error {
		_, err := s.cibaRequests.InsertOne(ctx, &cibaRequestDoc{
			Tenant: r.Tenant, Hash: r.Hash, DecisionHash: r.DecisionHash, ClientID: r.ClientID, UserID: r.UserID,
			Scope: r.Scope, BindingMessage: r.BindingMessage, DeliveryMode: r.DeliveryMode, Ping: r.Ping,
			Status: r.Status, SessionID: r.SessionID, AuthTime: nullMicros(r.AuthTime), IntervalNS: int64(r.Interval),
			LastPolledAt: nullMicros(r.LastPolledAt), CreatedAt: micros(r.CreatedAt), ExpiresAt: micros(r.ExpiresAt),
			UsedAt: nullMicros(r.UsedAt),
		})
		return translate(op, err)
	})
}

// GetCIBARequestByDecision returns the request whose decision id has the
// hash. ErrNotFound if absent or expired at now.
func (s *Store) GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	return cibaRequests.get(ctx, s, tenant, decisionHash, now)
}

// DecideCIBARequest moves a pending request to status by inserting its
// decision claim, so that of concurrent decisions exactly one lands, then
// saves consent, if any (see claimDecision). ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return cibaRequests.decide(ctx, s, tenant, decisionHash, status, now, consent, evs, func(c *claimDoc) {
		c.SessionID, c.AuthTime = sessionID, nullMicros(&authTime)
	})
}

// PollCIBARequest records a poll at now and returns the request as it was
// before the poll (see pendingColl.poll). Expired requests are returned
// too; ErrNotFound if absent.
func (s *Store) PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return cibaRequests.poll(ctx, s, tenant, hash, now)
}

// RedeemCIBARequest marks an approved request used at now by inserting its
// redemption claim, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired.
func (s *Store) RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	return cibaRequests.redeem(ctx, s, tenant, hash, now)
}
