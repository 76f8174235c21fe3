package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"oauth2-server.dev/ports"
)

// pendingColl is one kind of request that waits for a person's decision
// while its client polls for the outcome: device codes (RFC 8628) and
// backchannel authentication requests (CIBA), kept as documents of type
// D and returned as T. Both live the same way: created pending, decided
// once (with the consent that comes with an approval), polled with the
// time of each poll kept, and, once approved, redeemed exactly once. The
// poll time is the one field that changes after insert; decisions and
// redemptions are recorded as claims, so that of concurrent ones exactly
// one lands. Each is found by its hash (what the client polls with) and
// by a second name (what the person decides with: the user code, the
// decision hash).
type pendingColl[T, D any] struct {
	noun string // in error texts: "device code", "ciba request"
	coll func(*Store) *mongo.Collection
	// name is the field of the second name.
	name string
	// decision and redeemed are the kinds of the request's claims.
	decision, redeemed string
	fromDoc            func(*D) *T
	// polled returns a document's id and poll time.
	polled func(*D) (bson.ObjectID, *int64)
	fields func(*T) pendingFields
	// decided applies a decision claim to a request.
	decided func(*T, *claimDoc)
	// pending, approved and denied are the kind's states of that name.
	pending, approved, denied string
	// pollLive is whether a poll finds only requests live at now.
	pollLive bool
}

// pendingFields are the fields of a request its lifecycle reads and
// changes.
type pendingFields struct {
	tenant, hash string
	status       *string
	expiresAt    time.Time
	usedAt       **time.Time
}

// pollAttempts bounds how often a poll rereads after losing the
// compare-and-swap of LastPolledAt to a concurrent poll.
const pollAttempts = 3

func byHash(tenant, hash string) bson.D {
	return bson.D{{Key: "tenant", Value: tenant}, {Key: "hash", Value: hash}}
}

func liveAt(filter bson.D, now time.Time) bson.D {
	return append(filter, bson.E{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: micros(now)}}})
}

func (k pendingColl[T, D]) byName(tenant, name string) bson.D {
	return bson.D{{Key: "tenant", Value: tenant}, {Key: k.name, Value: name}}
}

// current turns a stored request into its current state by merging in its
// decision and redemption claims.
func (k pendingColl[T, D]) current(ctx context.Context, s *Store, doc *D) (*T, error) {
	r := k.fromDoc(doc)
	f := k.fields(r)
	if *f.status == k.pending {
		c, err := s.findClaim(ctx, f.tenant, k.decision, f.hash)
		if err != nil {
			return nil, err
		}
		if c != nil {
			k.decided(r, c)
		}
	}
	if *f.status == k.approved && *f.usedAt == nil {
		c, err := s.findClaim(ctx, f.tenant, k.redeemed, f.hash)
		if err != nil {
			return nil, err
		}
		if c != nil {
			*f.usedAt = fromNullMicros(&c.At)
		}
	}
	return r, nil
}

func (k pendingColl[T, D]) find(ctx context.Context, s *Store, filter bson.D) (*D, *T, error) {
	var doc D
	if err := k.coll(s).FindOne(ctx, filter).Decode(&doc); err != nil {
		return nil, nil, err
	}
	r, err := k.current(ctx, s, &doc)
	if err != nil {
		return nil, nil, err
	}
	return &doc, r, nil
}

// get returns the request with the second name. ErrNotFound if absent or
// expired at now.
func (k pendingColl[T, D]) get(ctx context.Context, s *Store, tenant, name string, now time.Time) (*T, error) {
	_, r, err := k.find(ctx, s, liveAt(k.byName(tenant, name), now))
	if err != nil {
		return nil, translate("get "+k.noun, err)
	}
	return r, nil
}

// decide moves the pending request with the second name to status by
// inserting its decision claim, which fill completes, so that of
// concurrent decisions exactly one lands, then saves consent, if any (see
// claimDecision). ErrNotFound if absent or expired at now; ErrAlreadyUsed
// if decided before.
func (k pendingColl[T, D]) decide(ctx context.Context, s *Store, tenant, name, status string, now time.Time, consent *ports.Consent, evs []ports.Event, fill func(*claimDoc)) error {
	op := "decide " + k.noun
	return s.withEvents(ctx, op, evs, func() error {
		if status != k.approved && status != k.denied {
			return fmt.Errorf("mongostore: %s: status %q is not a decision", op, status)
		}
		_, r, err := k.find(ctx, s, liveAt(k.byName(tenant, name), now))
		if err != nil {
			return translate(op, err)
		}
		f := k.fields(r)
		if *f.status != k.pending {
			return alreadyUsed(op)
		}
		c := newClaim(tenant, k.decision, f.hash, now, f.expiresAt)
		c.Status = status
		fill(c)
		return s.claimDecision(ctx, op, c, consent)
	})
}

// poll records a poll at now and returns the request as it was before
// the poll. The update only lands if LastPolledAt is still what was read,
// so concurrent polls each see the one before them rather than all
// seeing the same old time. ErrNotFound if absent, or, for a kind polled
// only while live, expired at now.
func (k pendingColl[T, D]) poll(ctx context.Context, s *Store, tenant, hash string, now time.Time) (*T, error) {
	op := "poll " + k.noun
	filter := byHash(tenant, hash)
	if k.pollLive {
		filter = liveAt(filter, now)
	}
	var r *T
	for range pollAttempts {
		doc, cur, err := k.find(ctx, s, filter)
		if err != nil {
			return nil, translate(op, err)
		}
		r = cur
		id, last := k.polled(doc)
		recorded, err := recordPoll(ctx, k.coll(s), id, last, now)
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

// redeem marks an approved request used at now by inserting its
// redemption claim, so that of concurrent calls exactly one succeeds.
// ErrNotFound if absent, expired or not approved. A request used before
// comes back with ErrAlreadyUsed, even once expired, as RedeemAuthCode
// does.
func (k pendingColl[T, D]) redeem(ctx context.Context, s *Store, tenant, hash string, now time.Time) (*T, error) {
	op := "redeem " + k.noun
	_, r, err := k.find(ctx, s, byHash(tenant, hash))
	if err != nil {
		return nil, translate(op, err)
	}
	f := k.fields(r)
	switch {
	case *f.usedAt != nil:
		return r, alreadyUsed(op)
	case !now.Before(f.expiresAt):
		return nil, notFound(op, "expired")
	case *f.status != k.approved:
		return nil, notFound(op, *f.status)
	}
	usedAt, won, err := s.redeemOnce(ctx, tenant, k.redeemed, hash, now, f.expiresAt)
	if err != nil {
		return nil, translate(op, err)
	}
	*f.usedAt = usedAt
	if !won {
		return r, alreadyUsed(op)
	}
	return r, nil
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
