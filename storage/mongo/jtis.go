package mongostore

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

type jtiDoc struct {
	ID        bson.ObjectID `bson:"_id"`
	Tenant    string        `bson:"tenant"`
	Key       string        `bson:"key"`
	ExpiresAt int64         `bson:"expires_at"`
}

// jtiAttempts bounds how often UseJTI goes round insert, read and delete.
// Each round that does not decide means another caller inserted or removed
// the record in between; under that much contention for one jti, refusing
// is the safe answer.
const jtiAttempts = 4

// UseJTI records key as used until expiresAt. ErrAlreadyUsed if the key is
// recorded and not expired at now; a record expired at now is replaced.
//
// The insert into the unique index decides the race. An expired record in
// the way is deleted by its _id, which removes that record and never one
// a concurrent caller inserted in its place; then the insert is tried
// again.
func (s *Store) UseJTI(ctx context.Context, tenant, key string, expiresAt, now time.Time) error {
	const op = "use jti"
	filter := bson.D{{Key: "tenant", Value: tenant}, {Key: "key", Value: key}}
	for range jtiAttempts {
		_, err := s.jtis.InsertOne(ctx, &jtiDoc{ID: bson.NewObjectID(), Tenant: tenant, Key: key, ExpiresAt: micros(expiresAt)})
		if err == nil {
			return nil
		}
		if !mongo.IsDuplicateKeyError(err) {
			return translate(op, err)
		}
		var cur jtiDoc
		err = s.jtis.FindOne(ctx, filter).Decode(&cur)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue // removed since the insert failed
		case err != nil:
			return translate(op, err)
		case cur.ExpiresAt > micros(now):
			return alreadyUsed(op)
		}
		if _, err := s.jtis.DeleteOne(ctx, bson.D{{Key: "_id", Value: cur.ID}}); err != nil {
			return translate(op, err)
		}
	}
	return alreadyUsed(op)
}
