package mongostore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"oauth2-server.dev/ports"
)

// DefaultDatabase is the database a URL without a path names.
const DefaultDatabase = "oauth2"

// Collection names.
const (
	collClients      = "clients"
	collUsers        = "users"
	collAuthRequests = "auth_requests"
	collAuthCodes    = "auth_codes"
	collTokens       = "tokens"
	collSessions     = "sessions"
	collConsents     = "consents"
	collKeys         = "signing_keys"
	collJTIs         = "jtis"
	collDeviceCodes  = "device_codes"
	collCIBARequests = "ciba_requests"
	collClaims       = "claims"
	collEventOutbox  = "event_outbox"
	collEventLeases  = "event_leases"
	collMigrations   = "schema_migrations"
)

// Store is a ports.Store backed by MongoDB. It is safe for concurrent use.
type Store struct {
	client *mongo.Client
	db     *mongo.Database

	clients, users, authRequests, authCodes, tokens, sessions, consents,
	keys, jtis, deviceCodes, cibaRequests, claims, eventOutbox, eventLeases, migrations *mongo.Collection

	// onEvents is told about the events of every change that stored some.
	onEvents atomic.Pointer[func([]ports.Event)]
	// discardEvents keeps events out of the outbox (DiscardEvents).
	discardEvents atomic.Bool
	// appendLease, when positive, is the lease (a time.Duration) events
	// are stored under (LeaseOnAppend).
	appendLease atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

var _ ports.Store = (*Store)(nil)

// Options tunes the client. The zero value leaves every setting to the URL
// and the driver's defaults.
type Options struct {
	// MaxConns caps the connections to each server. Zero means maxPoolSize
	// from the URL, else the driver's default of 100.
	MaxConns int
	// MinConns is how many connections to each server the pool keeps open
	// while idle. Zero means minPoolSize from the URL, else none.
	MinConns int
	// OperationTimeout bounds every operation that runs without a
	// deadline of its own, as timeoutMS in the URL does. Zero means the
	// URL's setting, else none.
	OperationTimeout time.Duration
}

// Open connects to the MongoDB deployment named by databaseURL and checks
// that it answers:
//
//	mongodb://[user:pass@]host[:port][,host...]/[database][?options]
//	mongodb+srv://[user:pass@]host/[database][?options]
//
// The database is the URL's path, DefaultDatabase when it has none. It does
// not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	if opts.MaxConns < 0 || opts.MinConns < 0 || opts.OperationTimeout < 0 {
		return nil, errors.New("mongostore: open: negative option")
	}
	if !strings.HasPrefix(databaseURL, "mongodb://") && !strings.HasPrefix(databaseURL, "mongodb+srv://") {
		// Only the scheme is echoed: the rest of a URL may hold a password.
		scheme, _, _ := strings.Cut(databaseURL, ":")
		return nil, fmt.Errorf("mongostore: open: unsupported database URL scheme %q: want mongodb:// or mongodb+srv://", scheme)
	}
	name, err := DatabaseName(databaseURL)
	if err != nil {
		return nil, err
	}
	co := options.Client().ApplyURI(databaseURL)
	if opts.MaxConns > 0 {
		co.SetMaxPoolSize(uint64(opts.MaxConns))
	}
	if opts.MinConns > 0 {
		co.SetMinPoolSize(uint64(opts.MinConns))
	}
	if opts.OperationTimeout > 0 {
		co.SetTimeout(opts.OperationTimeout)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		// Parse errors quote the offending URL part, which may be the
		// password; the driver's text stays behind.
		return nil, errors.New("mongostore: open: invalid MongoDB URL or options")
	}
	s := newStore(client, name)
	if err := s.Ping(ctx); err != nil {
		_ = s.Close() // the ping's error is the one to report
		return nil, err
	}
	return s, nil
}

func newStore(client *mongo.Client, name string) *Store {
	db := client.Database(name)
	return &Store{
		client:       client,
		db:           db,
		clients:      db.Collection(collClients),
		users:        db.Collection(collUsers),
		authRequests: db.Collection(collAuthRequests),
		authCodes:    db.Collection(collAuthCodes),
		tokens:       db.Collection(collTokens),
		sessions:     db.Collection(collSessions),
		consents:     db.Collection(collConsents),
		keys:         db.Collection(collKeys),
		jtis:         db.Collection(collJTIs),
		deviceCodes:  db.Collection(collDeviceCodes),
		cibaRequests: db.Collection(collCIBARequests),
		claims:       db.Collection(collClaims),
		eventOutbox:  db.Collection(collEventOutbox),
		eventLeases:  db.Collection(collEventLeases),
		migrations:   db.Collection(collMigrations),
	}
}

// DatabaseName returns the database a mongodb:// or mongodb+srv:// URL
// names: its path, or DefaultDatabase when the path is empty.
func DatabaseName(databaseURL string) (string, error) {
	_, rest, ok := strings.Cut(databaseURL, "://")
	if !ok {
		return "", errors.New("mongostore: URL has no scheme")
	}
	// The connection string format keeps '/' out of the user info and the
	// host list (socket paths are percent-encoded), so the first '/' starts
	// the database.
	_, path, ok := strings.Cut(rest, "/")
	if !ok {
		return DefaultDatabase, nil
	}
	path, _, _ = strings.Cut(path, "?")
	if path == "" {
		return DefaultDatabase, nil
	}
	name, err := url.PathUnescape(path)
	if err != nil || strings.ContainsAny(name, `/\. "$`) {
		return "", fmt.Errorf("mongostore: invalid database name %q", path)
	}
	return name, nil
}

// Database returns the name of the database the store uses.
func (s *Store) Database() string { return s.db.Name() }

// Ping reports whether the primary answers.
func (s *Store) Ping(ctx context.Context) error {
	return translate("ping", s.client.Ping(ctx, readpref.Primary()))
}

// Close disconnects, letting operations in flight finish for up to ten
// seconds. Calling it again does nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.closeErr = translate("close", s.client.Disconnect(ctx))
	})
	return s.closeErr
}
