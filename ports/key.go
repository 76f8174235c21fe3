package ports

import (
	"context"
	"time"
)

// SigningKey is a key pair the server signs tokens with. PrivateKey holds
// the private key sealed with AES-256-GCM under the key-encryption key;
// PublicJWK holds the public key as a JSON Web Key.
type SigningKey struct {
	ID         string // the JWK kid
	Tenant     string
	Algorithm  string // JWS alg: RS256, ES256, ...
	PrivateKey []byte
	PublicJWK  []byte
	CreatedAt  time.Time
	// NotBefore is when the key may start signing.
	NotBefore time.Time
	// RetiredAt is when the key stopped signing; nil while current.
	RetiredAt *time.Time
	// ExpiresAt is when the public key leaves the key set; nil while
	// current.
	ExpiresAt *time.Time
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// CreateKey stores a new key. ErrConflict if the kid exists.
	CreateKey(ctx context.Context, k *SigningKey, evs ...Event) error
	// UpdateKey replaces the NotBefore, RetiredAt and ExpiresAt of an
	// existing key; the key material never changes. ErrNotFound if absent.
	UpdateKey(ctx context.Context, k *SigningKey) error
	// ListKeys returns the tenant's keys, oldest first.
	ListKeys(ctx context.Context, tenant string) ([]*SigningKey, error)
}
