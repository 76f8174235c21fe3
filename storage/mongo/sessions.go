package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"oauth2-server.dev/ports"
)

type sessionDoc struct {
	ID        bson.ObjectID `bson:"_id,omitempty"`
	Tenant    string        `bson:"tenant"`
	SessionID string        `bson:"id"`
	UserID    string        `bson:"user_id"`
	AuthTime  int64         `bson:"auth_time"`
	CreatedAt int64         `bson:"created_at"`
	ExpiresAt int64         `bson:"expires_at"`
}

// liveByID matches the record with the id in the tenant unless it expired
// at now: a record expires at its ExpiresAt.
func liveByID(tenant, id string, now time.Time) bson.D {
	return append(byID(tenant, id), bson.E{Key: "expires_at", Value: bson.D{{Key: "$gt", Value: micros(now)}}})
}

// CreateSession stores a session. ErrConflict if the id exists.
func (s *Store) CreateSession(ctx context.Context, sess *ports.Session, evs ...ports.Event) error {
	return s.withEvents(ctx, "create session", evs, func() error { return s.createSession(ctx, sess) })
}

func (s *Store) createSession(ctx context.Context, sess *ports.Session) error {
	_, err := s.sessions.InsertOne(ctx, &sessionDoc{
		Tenant: sess.Tenant, SessionID: sess.ID, UserID: sess.UserID, AuthTime: micros(sess.AuthTime),
		CreatedAt: micros(sess.CreatedAt), ExpiresAt: micros(sess.ExpiresAt),
	})
	return translate("create session", err)
}

// GetSession returns the session. ErrNotFound if absent or expired at now.
func (s *Store) GetSession(ctx context.Context, tenant, id string, now time.Time) (*ports.Session, error) {
	var d sessionDoc
	if err := s.sessions.FindOne(ctx, liveByID(tenant, id, now)).Decode(&d); err != nil {
		return nil, translate("get session", err)
	}
	return &ports.Session{
		ID: d.SessionID, Tenant: d.Tenant, UserID: d.UserID, AuthTime: fromMicros(d.AuthTime),
		CreatedAt: fromMicros(d.CreatedAt), ExpiresAt: fromMicros(d.ExpiresAt),
	}, nil
}

// DeleteSession removes the session; an absent session is not an error.
func (s *Store) DeleteSession(ctx context.Context, tenant, id string, evs ...ports.Event) error {
	return s.withEvents(ctx, "delete session", evs, func() error { return s.deleteSession(ctx, tenant, id) })
}

func (s *Store) deleteSession(ctx context.Context, tenant, id string) error {
	_, err := s.sessions.DeleteOne(ctx, byID(tenant, id))
	return translate("delete session", err)
}

// EndUserSessions removes the user's sessions but keepSession and returns
// their ids.
func (s *Store) EndUserSessions(ctx context.Context, tenant, userID, keepSession string, evs ...ports.Event) ([]string, error) {
	const op = "end user sessions"
	var ended []string
	err := s.withEvents(ctx, op, evs, func() (err error) {
		ended, err = s.endUserSessions(ctx, op, tenant, userID, keepSession)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// endUserSessions deletes the user's sessions but keep and returns their
// ids: the ones it found, so that a session begun after the search is left
// alone.
func (s *Store) endUserSessions(ctx context.Context, op, tenant, userID, keep string) ([]string, error) {
	cur, err := s.sessions.Find(ctx, bson.D{
		{Key: "tenant", Value: tenant}, {Key: "user_id", Value: userID}, {Key: "id", Value: bson.D{{Key: "$ne", Value: keep}}},
	}, options.Find().SetProjection(bson.D{{Key: "id", Value: 1}}))
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []sessionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	if len(docs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.SessionID
	}
	_, err = s.sessions.DeleteMany(ctx, bson.D{{Key: "tenant", Value: tenant}, {Key: "id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return nil, translate(op, err)
	}
	return ids, nil
}

// CountSessions returns how many of the tenant's sessions are live at now.
func (s *Store) CountSessions(ctx context.Context, tenant string, now time.Time) (int, error) {
	n, err := s.sessions.CountDocuments(ctx, bson.D{
		{Key: "tenant", Value: tenant}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: micros(now)}}},
	})
	if err != nil {
		return 0, translate("count sessions", err)
	}
	return int(n), nil
}
