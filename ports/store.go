package ports

import "context"

// Store is everything a storage adapter provides. Consumers take the
// narrower interfaces; the server composes one Store per backend.
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
	Purger
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}
