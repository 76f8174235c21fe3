package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"oauth2-server.dev/ports"
)

type consentDoc struct {
	Tenant    string `bson:"tenant"`
	UserID    string `bson:"user_id"`
	ClientID  string `bson:"client_id"`
	Scope     string `bson:"scope"`
	GrantedAt int64  `bson:"granted_at"`
}

func consentKey(tenant, userID, clientID string) bson.D {
	return bson.D{{Key: "tenant", Value: tenant}, {Key: "user_id", Value: userID}, {Key: "client_id", Value: clientID}}
}

// SaveConsent creates or replaces the consent of c.UserID for c.ClientID.
func (s *Store) SaveConsent(ctx context.Context, c *ports.Consent, evs ...ports.Event) error {
	return s.withEvents(ctx, "save consent", evs, func() error { return s.saveConsent(ctx, c) })
}

func (s *Store) saveConsent(ctx context.Context, c *ports.Consent) error {
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "scope", Value: c.Scope}, {Key: "granted_at", Value: micros(c.GrantedAt)}}}}
	var err error
	// Two upserts of a new consent may both find nothing and both insert;
	// the unique index turns one away, and its retry finds the other's
	// document to update.
	for range 2 {
		_, err = s.consents.UpdateOne(ctx, consentKey(c.Tenant, c.UserID, c.ClientID), update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return translate("save consent", err)
}

// GetConsent returns the consent. ErrNotFound if absent.
func (s *Store) GetConsent(ctx context.Context, tenant, userID, clientID string) (*ports.Consent, error) {
	var d consentDoc
	if err := s.consents.FindOne(ctx, consentKey(tenant, userID, clientID)).Decode(&d); err != nil {
		return nil, translate("get consent", err)
	}
	return d.consent(), nil
}

func (d *consentDoc) consent() *ports.Consent {
	return &ports.Consent{Tenant: d.Tenant, UserID: d.UserID, ClientID: d.ClientID, Scope: d.Scope, GrantedAt: fromMicros(d.GrantedAt)}
}

// ListConsents returns the user's consents ordered by client id.
func (s *Store) ListConsents(ctx context.Context, tenant, userID string) ([]*ports.Consent, error) {
	cur, err := s.consents.Find(ctx, bson.D{{Key: "tenant", Value: tenant}, {Key: "user_id", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "client_id", Value: 1}}))
	if err != nil {
		return nil, translate("list consents", err)
	}
	var docs []consentDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate("list consents", err)
	}
	out := make([]*ports.Consent, len(docs))
	for i := range docs {
		out[i] = docs[i].consent()
	}
	return out, nil
}

// RevokeConsent removes the consent, then revokes the user's tokens of
// the client. Without transactions the two are separate writes: a failure
// between them leaves the tokens live with the consent gone, and the call
// fails so that it is retried.
func (s *Store) RevokeConsent(ctx context.Context, tenant, userID, clientID string, now time.Time, evs ...ports.Event) (int, error) {
	var n int
	err := s.withEvents(ctx, "revoke consent", evs, func() error {
		if err := s.deleteConsent(ctx, tenant, userID, clientID); err != nil {
			return err
		}
		res, err := s.tokens.UpdateMany(ctx,
			bson.D{{Key: "tenant", Value: tenant}, {Key: "client_id", Value: clientID}, {Key: "subject", Value: userID}, {Key: "revoked_at", Value: nil}},
			revokeAt(now))
		if err != nil {
			return translate("revoke consent", err)
		}
		n = int(res.ModifiedCount)
		return nil
	})
	return n, err
}

// DeleteConsent removes the consent; an absent consent is not an error.
func (s *Store) DeleteConsent(ctx context.Context, tenant, userID, clientID string, evs ...ports.Event) error {
	return s.withEvents(ctx, "delete consent", evs, func() error { return s.deleteConsent(ctx, tenant, userID, clientID) })
}

func (s *Store) deleteConsent(ctx context.Context, tenant, userID, clientID string) error {
	_, err := s.consents.DeleteOne(ctx, consentKey(tenant, userID, clientID))
	return translate("delete consent", err)
}
