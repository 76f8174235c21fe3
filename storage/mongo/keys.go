package mongostore

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"oauth2-server.dev/ports"
)

type keyDocument struct {
	ID         bson.ObjectID `bson:"_id,omitempty"`
	Tenant     string        `bson:"tenant"`
	KeyID      string        `bson:"id"`
	Algorithm  string        `bson:"algorithm"`
	PrivateKey []byte        `bson:"private_key"` // sealed with AES-256-GCM by the caller
	PublicJWK  []byte        `bson:"public_jwk"`
	CreatedAt  int64         `bson:"created_at"`
	NotBefore  int64         `bson:"not_before"`
	RetiredAt  *int64        `bson:"retired_at"`
	ExpiresAt  *int64        `bson:"expires_at"`
}

// CreateKey stores a new key. ErrConflict if the kid exists.
func (s *Store) CreateKey(ctx context.Context, k *ports.SigningKey, evs ...ports.Event) error {
	return s.withEvents(ctx, "create key", evs, func() error { return s.createKey(ctx, k) })
}

func (s *Store) createKey(ctx context.Context, k *ports.SigningKey) error {
	_, err := s.keys.InsertOne(ctx, &keyDocument{
		Tenant: k.Tenant, KeyID: k.ID, Algorithm: k.Algorithm, PrivateKey: k.PrivateKey, PublicJWK: k.PublicJWK,
		CreatedAt: micros(k.CreatedAt), NotBefore: micros(k.NotBefore),
		RetiredAt: nullMicros(k.RetiredAt), ExpiresAt: nullMicros(k.ExpiresAt),
	})
	return translate("create key", err)
}

// UpdateKey replaces the NotBefore, RetiredAt and ExpiresAt of an existing
// key; the key material never changes. ErrNotFound if absent.
func (s *Store) UpdateKey(ctx context.Context, k *ports.SigningKey) error {
	res, err := s.keys.UpdateOne(ctx, byID(k.Tenant, k.ID), bson.D{{Key: "$set", Value: bson.D{
		{Key: "not_before", Value: micros(k.NotBefore)},
		{Key: "retired_at", Value: nullMicros(k.RetiredAt)},
		{Key: "expires_at", Value: nullMicros(k.ExpiresAt)},
	}}})
	if err != nil {
		return translate("update key", err)
	}
	if res.MatchedCount == 0 {
		return notFound("update key", "no such key")
	}
	return nil
}

// ListKeys returns the tenant's keys, oldest first; the id breaks ties so
// that keys created in the same microsecond list in a stable order.
func (s *Store) ListKeys(ctx context.Context, tenant string) ([]*ports.SigningKey, error) {
	cur, err := s.keys.Find(ctx, bson.D{{Key: "tenant", Value: tenant}})
	if err != nil {
		return nil, translate("list keys", err)
	}
	var docs []keyDocument
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate("list keys", err)
	}
	keys := make([]*ports.SigningKey, len(docs))
	for i, d := range docs {
		keys[i] = &ports.SigningKey{
			ID: d.KeyID, Tenant: d.Tenant, Algorithm: d.Algorithm, PrivateKey: d.PrivateKey, PublicJWK: d.PublicJWK,
			CreatedAt: fromMicros(d.CreatedAt), NotBefore: fromMicros(d.NotBefore),
			RetiredAt: fromNullMicros(d.RetiredAt), ExpiresAt: fromNullMicros(d.ExpiresAt),
		}
	}
	slices.SortFunc(keys, func(a, b *ports.SigningKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return keys, nil
}
