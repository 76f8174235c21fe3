package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

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
	// and redemptions are recorded as claims, as for device codes.
	LastPolledAt *int64 `bson:"last_polled_at"`
	CreatedAt    int64  `bson:"created_at"`
	ExpiresAt    int64  `bson:"expires_at"`
	UsedAt       *int64 `bson:"used_at"`
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

// cibaRequest turns a stored request into its current state by merging in
// its decision and redemption claims.
func (s *Store) cibaRequest(ctx context.Context, doc *cibaRequestDoc) (*ports.CIBARequest, error) {
	r := &ports.CIBARequest{
		Hash: doc.Hash, Tenant: doc.Tenant, DecisionHash: doc.DecisionHash, ClientID: doc.ClientID, UserID: doc.UserID,
		Scope: doc.Scope, BindingMessage: doc.BindingMessage, DeliveryMode: doc.DeliveryMode, Ping: doc.Ping,
		Status: doc.Status, SessionID: doc.SessionID, AuthTime: fromNullMicros(doc.AuthTime),
		Interval: time.Duration(doc.IntervalNS), LastPolledAt: fromNullMicros(doc.LastPolledAt),
		CreatedAt: fromMicros(doc.CreatedAt), ExpiresAt: fromMicros(doc.ExpiresAt), UsedAt: fromNullMicros(doc.UsedAt),
	}
	if r.Status == ports.CIBAPending {
		c, err := s.findClaim(ctx, r.Tenant, claimCIBADecision, r.Hash)
		if err != nil {
			return nil, err
		}
		if c != nil {
			r.Status, r.SessionID, r.AuthTime = c.Status, c.SessionID, fromNullMicros(c.AuthTime)
		}
	}
	if r.Status == ports.CIBAApproved && r.UsedAt == nil {
		c, err := s.findClaim(ctx, r.Tenant, claimCIBARedeemed, r.Hash)
		if err != nil {
			return nil, err
		}
		if c != nil {
			r.UsedAt = fromNullMicros(&c.At)
		}
	}
	return r, nil
}

func (s *Store) findCIBARequest(ctx context.Context, filter bson.D) (*cibaRequestDoc, *ports.CIBARequest, error) {
	var doc cibaRequestDoc
	if err := s.cibaRequests.FindOne(ctx, filter).Decode(&doc); err != nil {
		return nil, nil, err
	}
	r, err := s.cibaRequest(ctx, &doc)
	if err != nil {
		return nil, nil, err
	}
	return &doc, r, nil
}

func byDecisionHash(tenant, decisionHash string) bson.D {
	return bson.D{{Key: "tenant", Value: tenant}, {Key: "decision_hash", Value: decisionHash}}
}

// GetCIBARequestByDecision returns the request whose decision id has the
// hash. ErrNotFound if absent or expired at now.
func (s *Store) GetCIBARequestByDecision(ctx context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	_, r, err := s.findCIBARequest(ctx, liveAt(byDecisionHash(tenant, decisionHash), now))
	if err != nil {
		return nil, translate("get ciba request", err)
	}
	return r, nil
}

// DecideCIBARequest moves a pending request to status by inserting its
// decision claim, so that of concurrent decisions exactly one lands, then
// saves consent, if any (see claimDecision). ErrNotFound if absent or
// expired at now; ErrAlreadyUsed if decided before.
func (s *Store) DecideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	return s.withEvents(ctx, "decide ciba request", evs, func() error {
		return s.decideCIBARequest(ctx, tenant, decisionHash, status, sessionID, authTime, now, consent)
	})
}

func (s *Store) decideCIBARequest(ctx context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent) error {
	const op = "decide ciba request"
	if status != ports.CIBAApproved && status != ports.CIBADenied {
		return fmt.Errorf("mongostore: %s: status %q is not a decision", op, status)
	}
	_, r, err := s.findCIBARequest(ctx, liveAt(byDecisionHash(tenant, decisionHash), now))
	if err != nil {
		return translate(op, err)
	}
	if r.Status != ports.CIBAPending {
		return alreadyUsed(op)
	}
	c := newClaim(tenant, claimCIBADecision, r.Hash, now, r.ExpiresAt)
	c.Status, c.SessionID, c.AuthTime = status, sessionID, nullMicros(&authTime)
	return s.claimDecision(ctx, op, c, consent)
}

// PollCIBARequest records a poll at now and returns the request as it was
// before the poll. The update only lands if LastPolledAt is still what was
// read, so concurrent polls each see the one before them. Expired
// requests are returned too; ErrNotFound if absent.
func (s *Store) PollCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	const op = "poll ciba request"
	var r *ports.CIBARequest
	for range pollAttempts {
		doc, cur, err := s.findCIBARequest(ctx, byHash(tenant, hash))
		if err != nil {
			return nil, translate(op, err)
		}
		r = cur
		recorded, err := recordPoll(ctx, s.cibaRequests, doc.ID, doc.LastPolledAt, now)
		if err != nil {
			return nil, translate(op, err)
		}
		if recorded {
			return r, nil
		}
	}
	// Polled faster than it can be recorded: what was read last tells the
	// caller as much.
	return r, nil
}

// RedeemCIBARequest marks an approved request used at now by inserting its
// redemption claim, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired.
func (s *Store) RedeemCIBARequest(ctx context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	const op = "redeem ciba request"
	_, r, err := s.findCIBARequest(ctx, byHash(tenant, hash))
	if err != nil {
		return nil, translate(op, err)
	}
	switch {
	case r.UsedAt != nil:
		return r, alreadyUsed(op)
	case !now.Before(r.ExpiresAt):
		return nil, notFound(op, "expired")
	case r.Status != ports.CIBAApproved:
		return nil, notFound(op, r.Status)
	}
	usedAt, won, err := s.redeemOnce(ctx, tenant, claimCIBARedeemed, hash, now, r.ExpiresAt)
	if err != nil {
		return nil, translate(op, err)
	}
	r.UsedAt = usedAt
	if !won {
		return r, alreadyUsed(op)
	}
	return r, nil
}
