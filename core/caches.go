package core

import (
	"context"
	"sync"
	"time"

	"oauth2-server.dev/ports"
)

// The engine keeps what the hot endpoints read on every request, for a
// short time, in the process. A change made on this replica invalidates
// what it touched at once, through invalidatingStore; one made on another
// replica is seen when the entry expires.
const (
	// clientCacheTTL: a client's rotated secret, update or deletion
	// elsewhere.
	clientCacheTTL = time.Second
	// userCacheTTL: a user's claims for ID tokens and UserInfo.
	userCacheTTL = time.Second
	// recordCacheTTL: an access token's record, read for introspection
	// or UserInfo: a revocation elsewhere.
	recordCacheTTL = 500 * time.Millisecond
	// cacheMax bounds each cache; past it the cache is emptied and fills
	// again with what is in use.
	cacheMax = 50_000
)

// expiring is a bounded map whose entries are found until they expire.
// Values are shared and never modified: callers must not change them.
type expiring[V any] struct {
	mu sync.RWMutex
	m  map[string]expiringEntry[V]
}

type expiringEntry[V any] struct {
	v   V
	exp time.Time
}

func newExpiring[V any]() *expiring[V] {
	return &expiring[V]{m: map[string]expiringEntry[V]{}}
}

// get returns the value of key if it has not expired at now.
func (c *expiring[V]) get(key string, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *expiring[V]) put(key string, v V, exp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheMax {
		clear(c.m)
	}
	c.m[key] = expiringEntry[V]{v: v, exp: exp}
}

func (c *expiring[V]) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// clear forgets every entry: one revocation may reach many tokens (a
// grant, a client), and revocations are rare beside reads.
func (c *expiring[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// caches are the engine's caches.
type caches struct {
	// clients keeps clients with their decoded registration metadata, so
	// the token endpoint neither reads nor decodes them per request.
	clients *expiring[cachedClient]
	// users keeps the users whose claims ID tokens and UserInfo repeat.
	users *expiring[*ports.User]
	// records keeps access token records read for introspection and
	// UserInfo: a resource server introspects the same token on every
	// call it serves.
	records *expiring[*ports.Token]
	// verified maps the digest of a JWT access token that verified to its
	// jti, until the token expires: verifying a P-256 signature costs
	// about twice what signing does, and a token is presented many times.
	// Its record, read on every use, still says whether it was revoked.
	verified *expiring[string]
}

type cachedClient struct {
	client *ports.Client
	meta   clientMetadata
}

func newCaches() caches {
	return caches{
		clients: newExpiring[cachedClient](), users: newExpiring[*ports.User](),
		records: newExpiring[*ports.Token](), verified: newExpiring[string](),
	}
}

// directory reads the clients and users of one tenant through the
// engine's caches: the token endpoint, ID tokens and UserInfo read the same
// few on every request.
type directory struct {
	tenant string
	clock  ports.Clock
	store  directoryStore
	caches
}

// directoryStore is what the directory reads.
type directoryStore interface {
	GetClient(ctx context.Context, tenant, id string) (*ports.Client, error)
	GetUser(ctx context.Context, tenant, id string) (*ports.User, error)
}

// client returns the client id of the directory's tenant, from the cache
// when it was read less than clientCacheTTL ago. ports.ErrNotFound if
// there is no such client; unknown ids are not cached, so a client
// registered on another replica is found at once.
func (d *directory) client(ctx context.Context, id string) (*ports.Client, error) {
	now := d.clock.Now()
	if e, ok := d.clients.get(id, now); ok {
		return e.client, nil
	}
	c, err := d.store.GetClient(ctx, d.tenant, id)
	if err != nil {
		return nil, err
	}
	d.clients.put(id, cachedClient{client: c, meta: registeredMetadata(c)}, now.Add(clientCacheTTL))
	return c, nil
}

// metadata returns the decoded registration metadata of c, without
// decoding it again when c came from the cache.
func (d *directory) metadata(c *ports.Client) clientMetadata {
	if e, ok := d.clients.get(c.ID, d.clock.Now()); ok && e.client == c {
		return e.meta
	}
	return registeredMetadata(c)
}

// user returns the user id of the directory's tenant, from the cache when
// it was read less than userCacheTTL ago. ports.ErrNotFound if absent.
func (d *directory) user(ctx context.Context, id string) (*ports.User, error) {
	now := d.clock.Now()
	if u, ok := d.users.get(id, now); ok {
		return u, nil
	}
	u, err := d.store.GetUser(ctx, d.tenant, id)
	if err != nil {
		return nil, err
	}
	d.users.put(id, u, now.Add(userCacheTTL))
	return u, nil
}
