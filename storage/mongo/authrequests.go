package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"oauth2-server.dev/ports"
)

type authRequestDoc struct {
	ID        bson.ObjectID `bson:"_id,omitempty"`
	Tenant    string        `bson:"tenant"`
	RequestID string        `bson:"id"`
	ClientID  string        `bson:"client_id"`
	Params    string        `bson:"params"`
	CreatedAt int64         `bson:"created_at"`
	ExpiresAt int64         `bson:"expires_at"`
}

func (d *authRequestDoc) request() *ports.AuthRequest {
	return &ports.AuthRequest{
		ID: d.RequestID, Tenant: d.Tenant, ClientID: d.ClientID, Params: d.Params,
		CreatedAt: fromMicros(d.CreatedAt), ExpiresAt: fromMicros(d.ExpiresAt),
	}
}

// CreateAuthRequest stores a request. ErrConflict if the id exists.
func (s *Store) CreateAuthRequest(ctx context.Context, r *ports.AuthRequest) error {
	_, err := s.authRequests.InsertOne(ctx, &authRequestDoc{
		Tenant: r.Tenant, RequestID: r.ID, ClientID: r.ClientID, Params: r.Params,
		CreatedAt: micros(r.CreatedAt), ExpiresAt: micros(r.ExpiresAt),
	})
	return translate("create auth request", err)
}

// GetAuthRequest returns the request. ErrNotFound if absent or expired at
// now.
func (s *Store) GetAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	var d authRequestDoc
	if err := s.authRequests.FindOne(ctx, liveByID(tenant, id, now)).Decode(&d); err != nil {
		return nil, translate("get auth request", err)
	}
	return d.request(), nil
}

// ConsumeAuthRequest deletes the request and returns it. Of concurrent
// calls, all may read the request, but only one delete of its _id counts
// a document, and only that caller gets it (single-use request_uri,
// RFC 9126 §2.2). ErrNotFound if absent or expired at now.
func (s *Store) ConsumeAuthRequest(ctx context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	var d authRequestDoc
	if err := s.authRequests.FindOne(ctx, liveByID(tenant, id, now)).Decode(&d); err != nil {
		return nil, translate("consume auth request", err)
	}
	res, err := s.authRequests.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}})
	if err != nil {
		return nil, translate("consume auth request", err)
	}
	if res.DeletedCount == 0 {
		return nil, notFound("consume auth request", "consumed concurrently")
	}
	return d.request(), nil
}

// DeleteAuthRequest removes the request; deleting an absent request is not
// an error.
func (s *Store) DeleteAuthRequest(ctx context.Context, tenant, id string) error {
	_, err := s.authRequests.DeleteOne(ctx, byID(tenant, id))
	return translate("delete auth request", err)
}
