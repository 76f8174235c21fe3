package ports

import (
	"context"
	"time"
)

// Token endpoint authentication methods (RFC 7591 §2).
const (
	AuthMethodSecretBasic = "client_secret_basic"
	AuthMethodSecretPost  = "client_secret_post"
	AuthMethodNone        = "none"
)

// Access token formats a client may choose.
const (
	TokenFormatJWT    = "jwt"
	TokenFormatOpaque = "opaque"
)

// Client is a registered OAuth client. Secrets are never stored in clear:
// SecretHash and RegistrationTokenHash hold keyed hashes.
type Client struct {
	ID                    string
	Tenant                string
	SecretHash            string // empty for public clients
	RegistrationTokenHash string // RFC 7592 registration access token, hashed
	// SecretSealed holds the client secret encrypted under the server's
	// key, for client_secret_jwt, which needs the secret itself to check
	// an HMAC; empty for every other method.
	SecretSealed      []byte
	Name              string
	RedirectURIs      []string
	GrantTypes        []string
	ResponseTypes     []string
	Scope             string // space-separated scopes the client may request
	TokenEndpointAuth string // one of the AuthMethod constants
	ApplicationType   string // "web" or "native"
	AccessTokenFormat string // TokenFormatJWT (default) or TokenFormatOpaque
	// Metadata keeps the remaining registration metadata as submitted (JSON
	// object), so that RFC 7592 reads return what was registered.
	Metadata  []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Public reports whether the client has no secret to authenticate with.
func (c *Client) Public() bool { return c.TokenEndpointAuth == AuthMethodNone }

// HasGrantType reports whether the client registered grant type gt.
func (c *Client) HasGrantType(gt string) bool {
	for _, g := range c.GrantTypes {
		if g == gt {
			return true
		}
	}
	return false
}

// ClientStore keeps registered clients.
type ClientStore interface {
	// CreateClient stores a new client. ErrConflict if the id is taken in
	// the tenant.
	CreateClient(ctx context.Context, c *Client, evs ...Event) error
	// GetClient returns the client. ErrNotFound if absent.
	GetClient(ctx context.Context, tenant, id string) (*Client, error)
	// UpdateClient replaces every field of an existing client. ErrNotFound
	// if absent.
	UpdateClient(ctx context.Context, c *Client, evs ...Event) error
	// DeleteClient removes the client. ErrNotFound if absent.
	DeleteClient(ctx context.Context, tenant, id string, evs ...Event) error
	// ListClients returns the tenant's clients ordered by id, the part of
	// them page selects by id.
	ListClients(ctx context.Context, tenant string, page Page) ([]*Client, error)
}
