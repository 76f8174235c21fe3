package ports

import "context"

// Store is everything a storage adapter provides, one small interface per
// concern. Consumers take the narrower interfaces; the server opens one
// Store per backend, and every adapter provides all of it (each says so
// with var _ Store = (*Store)(nil)), so that nothing is found at run time.
//
// A write method that takes domain events (evs ...Event, or the events of
// a Rotation or a Redemption) stores them in the store's outbox
// (EventStore) as part of the change they describe: a store with
// transactions commits both or neither, so an event is delivered exactly
// when its change happened. A call that fails stores none of its events.
// Events are validated like EventLog.AppendEvents validates them.
type Store interface {
	ClientStore
	UserStore
	AuthRequestStore
	AuthCodeStore
	TokenStore
	SessionStore
	ConsentStore
	KeyStore
	JTIStore
	DeviceCodeStore
	CIBAStore
	Purger
	EventStore
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}
