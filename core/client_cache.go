package core

import (
	"context"
	"sync"
	"time"

	"oauth2-server.dev/ports"
)

// clientCacheTTL is how long a client read from the store is used without
// reading it again. Changes made on this replica take effect at once;
// changes made on another replica (a rotated secret, an update, a
// deletion) within this time.
const clientCacheTTL = time.Second

// clientCacheMax bounds the cached clients; past it the cache is emptied
// and fills again with the clients in use.
const clientCacheMax = 10_000

// clientCache keeps recently used clients, with their decoded registration
// metadata, so that the token endpoint does not read the client from the
// store and decode its metadata on every request. Entries are shared and
// never modified: callers must not change a cached client.
type clientCache struct {
	clock ports.Clock
	mu    sync.RWMutex
	byID  map[string]*clientEntry
}

type clientEntry struct {
	client  *ports.Client
	meta    clientMetadata
	fetched time.Time
}

func newClientCache(clock ports.Clock) *clientCache {
	return &clientCache{clock: clock, byID: map[string]*clientEntry{}}
}

// get returns the live cache entry of id, or nil.
func (c *clientCache) get(id string) *clientEntry {
	c.mu.RLock()
	e := c.byID[id]
	c.mu.RUnlock()
	if e == nil || c.clock.Now().Sub(e.fetched) >= clientCacheTTL {
		return nil
	}
	return e
}

func (c *clientCache) put(cl *ports.Client) *clientEntry {
	e := &clientEntry{client: cl, meta: registeredMetadata(cl), fetched: c.clock.Now()}
	c.mu.Lock()
	if len(c.byID) >= clientCacheMax {
		clear(c.byID)
	}
	c.byID[cl.ID] = e
	c.mu.Unlock()
	return e
}

// forget drops id, after a change of the client on this replica.
func (c *clientCache) forget(id string) {
	c.mu.Lock()
	delete(c.byID, id)
	c.mu.Unlock()
}

// client returns the client id of the provider's tenant, from the cache
// when it was read less than clientCacheTTL ago. ports.ErrNotFound if
// there is no such client; unknown ids are not cached, so a client
// registered on another replica is found at once.
func (p *Provider) client(ctx context.Context, id string) (*ports.Client, error) {
	if e := p.clients.get(id); e != nil {
		return e.client, nil
	}
	c, err := p.store.GetClient(ctx, p.cfg.Tenant, id)
	if err != nil {
		return nil, err
	}
	return p.clients.put(c).client, nil
}

// metadata returns the decoded registration metadata of c, without
// decoding it again when c came from the cache.
func (p *Provider) metadata(c *ports.Client) clientMetadata {
	if e := p.clients.get(c.ID); e != nil && e.client == c {
		return e.meta
	}
	return registeredMetadata(c)
}

// userCacheTTL is how long a user read from the store for an ID token or
// UserInfo is used without reading it again.
const userCacheTTL = time.Second

// userCache keeps recently read users, whose claims every ID token and
// UserInfo response of a busy client repeats.
type userCache struct {
	clock ports.Clock
	mu    sync.RWMutex
	byID  map[string]cachedUser
}

type cachedUser struct {
	user    *ports.User
	fetched time.Time
}

func newUserCache(clock ports.Clock) *userCache {
	return &userCache{clock: clock, byID: map[string]cachedUser{}}
}

// user returns the user id of the provider's tenant, from the cache when
// it was read less than userCacheTTL ago. ports.ErrNotFound if absent.
func (p *Provider) user(ctx context.Context, id string) (*ports.User, error) {
	c := p.users
	now := c.clock.Now()
	c.mu.RLock()
	e, ok := c.byID[id]
	c.mu.RUnlock()
	if ok && now.Sub(e.fetched) < userCacheTTL && !now.Before(e.fetched) {
		return e.user, nil
	}
	u, err := p.store.GetUser(ctx, p.cfg.Tenant, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.byID) >= clientCacheMax {
		clear(c.byID)
	}
	c.byID[id] = cachedUser{user: u, fetched: now}
	c.mu.Unlock()
	return u, nil
}
