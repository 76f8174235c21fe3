package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"oauth2-server.dev/ports"
)

// purgeTarget is what one purge kind deletes: records of a collection and
// the claims made on them.
type purgeTarget struct {
	coll   func(*Store) *mongo.Collection
	claims []string
}

var purgeTargets = map[string]purgeTarget{
	ports.PurgeAuthRequests: {coll: func(s *Store) *mongo.Collection { return s.authRequests }},
	ports.PurgeAuthCodes:    {coll: func(s *Store) *mongo.Collection { return s.authCodes }, claims: []string{claimAuthCode}},
	ports.PurgeTokens:       {coll: func(s *Store) *mongo.Collection { return s.tokens }, claims: []string{claimRotation}},
	ports.PurgeSessions:     {coll: func(s *Store) *mongo.Collection { return s.sessions }},
	ports.PurgeJTIs:         {coll: func(s *Store) *mongo.Collection { return s.jtis }},
	ports.PurgeDeviceCodes: {
		coll:   func(s *Store) *mongo.Collection { return s.deviceCodes },
		claims: []string{claimDeviceDecision, claimDeviceRedeemed},
	},
	ports.PurgeCIBARequests: {
		coll:   func(s *Store) *mongo.Collection { return s.cibaRequests },
		claims: []string{claimCIBADecision, claimCIBARedeemed},
	},
}

// PurgeExpired deletes at most limit records of kind, in every tenant,
// whose expiry is at or before before, and returns how many it deleted.
// The claims made on records of the kind (redemptions, rotations,
// decisions) count as records of it: each expires with the record it
// claims and goes once the records are gone, within the same limit.
func (s *Store) PurgeExpired(ctx context.Context, kind string, before time.Time, limit int) (int, error) {
	target, ok := purgeTargets[kind]
	if !ok {
		return 0, fmt.Errorf("mongostore: purge expired: unknown kind %q", kind)
	}
	if limit < 1 {
		return 0, fmt.Errorf("mongostore: purge expired %s: limit %d is not positive", kind, limit)
	}
	expired := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lte", Value: micros(before)}}}}
	n, err := purgeBatch(ctx, target.coll(s), expired, limit)
	if err != nil || n == limit || len(target.claims) == 0 {
		return n, translate("purge expired "+kind, err)
	}
	claims := append(bson.D{{Key: "kind", Value: bson.D{{Key: "$in", Value: target.claims}}}}, expired...)
	m, err := purgeBatch(ctx, s.claims, claims, limit-n)
	return n + m, translate("purge expired "+kind, err)
}

// purgeBatch deletes up to limit documents matching filter. MongoDB's
// delete has no limit but one, so the batch is chosen by _id first; the
// filter is applied again on delete in case a document changed between.
func purgeBatch(ctx context.Context, coll *mongo.Collection, filter bson.D, limit int) (int, error) {
	cur, err := coll.Find(ctx, filter, options.Find().SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, err
	}
	var docs []struct {
		ID bson.ObjectID `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return 0, err
	}
	if len(docs) == 0 {
		return 0, nil
	}
	ids := make([]bson.ObjectID, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	res, err := coll.DeleteMany(ctx, append(bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, filter...))
	if err != nil {
		return 0, err
	}
	return int(res.DeletedCount), nil
}
