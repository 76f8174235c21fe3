package mongostore

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"oauth2-server.dev/ports"
)

type userDoc struct {
	ID            bson.ObjectID `bson:"_id,omitempty"`
	Tenant        string        `bson:"tenant"`
	UserID        string        `bson:"id"`
	Username      string        `bson:"username"`
	PasswordHash  string        `bson:"password_hash"`
	Name          string        `bson:"name"`
	GivenName     string        `bson:"given_name"`
	FamilyName    string        `bson:"family_name"`
	Email         string        `bson:"email"`
	EmailVerified bool          `bson:"email_verified"`
	CreatedAt     int64         `bson:"created_at"`
}

func (d *userDoc) user() *ports.User {
	return &ports.User{
		ID: d.UserID, Tenant: d.Tenant, Username: d.Username, PasswordHash: d.PasswordHash, Name: d.Name,
		GivenName: d.GivenName, FamilyName: d.FamilyName, Email: d.Email, EmailVerified: d.EmailVerified,
		CreatedAt: fromMicros(d.CreatedAt),
	}
}

// CreateUser stores a new user. ErrConflict if the id or the username is
// taken in the tenant.
func (s *Store) CreateUser(ctx context.Context, u *ports.User) error {
	_, err := s.users.InsertOne(ctx, &userDoc{
		Tenant: u.Tenant, UserID: u.ID, Username: u.Username, PasswordHash: u.PasswordHash, Name: u.Name,
		GivenName: u.GivenName, FamilyName: u.FamilyName, Email: u.Email, EmailVerified: u.EmailVerified,
		CreatedAt: micros(u.CreatedAt),
	})
	return translate("create user", err)
}

// GetUser returns the user by id. ErrNotFound if absent.
func (s *Store) GetUser(ctx context.Context, tenant, id string) (*ports.User, error) {
	return s.findUser(ctx, "get user", byID(tenant, id))
}

// GetUserByUsername returns the user by username. ErrNotFound if absent.
func (s *Store) GetUserByUsername(ctx context.Context, tenant, username string) (*ports.User, error) {
	return s.findUser(ctx, "get user by username", bson.D{{Key: "tenant", Value: tenant}, {Key: "username", Value: username}})
}

func (s *Store) findUser(ctx context.Context, op string, filter bson.D) (*ports.User, error) {
	var d userDoc
	if err := s.users.FindOne(ctx, filter).Decode(&d); err != nil {
		return nil, translate(op, err)
	}
	return d.user(), nil
}

// ListUsers returns the tenant's users ordered by username, byte by byte,
// the part of them page selects.
func (s *Store) ListUsers(ctx context.Context, tenant string, page ports.Page) ([]*ports.User, error) {
	filter, opts := paged(tenant, "username", page)
	cur, err := s.users.Find(ctx, filter, opts)
	if err != nil {
		return nil, translate("list users", err)
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate("list users", err)
	}
	out := make([]*ports.User, len(docs))
	for i := range docs {
		out[i] = docs[i].user()
	}
	return out, nil
}

// SetUserPassword replaces the user's password hash, then ends the user's
// sessions but keepSession and returns their ids. Without transactions
// these are separate writes, the password's first, so no session begun with
// the old password after the change survives it; a failure between them
// fails the call, and setting the password again ends the sessions left.
func (s *Store) SetUserPassword(ctx context.Context, tenant, id, passwordHash, keepSession string, evs ...ports.Event) ([]string, error) {
	const op = "set user password"
	var ended []string
	err := s.withEvents(ctx, op, evs, func() error {
		res, err := s.users.UpdateOne(ctx, byID(tenant, id), bson.D{{Key: "$set", Value: bson.D{{Key: "password_hash", Value: passwordHash}}}})
		if err != nil {
			return translate(op, err)
		}
		if res.MatchedCount == 0 {
			return notFound(op, "no such user")
		}
		ended, err = s.endUserSessions(ctx, op, tenant, id, keepSession)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ended, nil
}

// DeleteUser removes the user, then the user's consents and sessions, and
// revokes the user's tokens. Without transactions these are separate
// writes, the user's first: a failure after it leaves the rest, and the
// call fails so that it is retried, which then answers ErrNotFound; the
// sessions and consents of a user who no longer exists lead nowhere, and
// the tokens expire.
func (s *Store) DeleteUser(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) (int, []string, error) {
	const op = "delete user"
	var (
		n     int
		ended []string
	)
	err := s.withEvents(ctx, op, evs, func() error {
		res, err := s.users.DeleteOne(ctx, byID(tenant, id))
		if err != nil {
			return translate(op, err)
		}
		if res.DeletedCount == 0 {
			return notFound(op, "no such user")
		}
		byUser := bson.D{{Key: "tenant", Value: tenant}, {Key: "user_id", Value: id}}
		if _, err := s.consents.DeleteMany(ctx, byUser); err != nil {
			return translate(op, err)
		}
		if ended, err = s.endUserSessions(ctx, op, tenant, id, ""); err != nil {
			return err
		}
		up, err := s.tokens.UpdateMany(ctx,
			bson.D{{Key: "tenant", Value: tenant}, {Key: "subject", Value: id}, {Key: "revoked_at", Value: nil}},
			revokeAt(now))
		if err != nil {
			return translate(op, err)
		}
		n = int(up.ModifiedCount)
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return n, ended, nil
}
