package core

import (
	"sync"
	"time"

	"oauth2-server.dev/ports"
)

// recordCacheTTL is how long an access token's record, read for
// introspection or UserInfo, is used without reading it again. A
// revocation made on this replica takes effect at once; one made on
// another replica within this time.
const recordCacheTTL = 500 * time.Millisecond

// recordCacheMax bounds the cached records; past it the cache is emptied.
const recordCacheMax = 50_000

// recordCache keeps recently read access token records: a resource server
// introspects the same token on every call it serves, often many times a
// second. Records are shared and never modified.
type recordCache struct {
	mu sync.RWMutex
	m  map[string]cachedRecord
}

type cachedRecord struct {
	rec     *ports.Token
	fetched time.Time
}

func newRecordCache() *recordCache { return &recordCache{m: map[string]cachedRecord{}} }

func (c *recordCache) get(id string, now time.Time) *ports.Token {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || now.Sub(e.fetched) >= recordCacheTTL || now.Before(e.fetched) {
		return nil
	}
	return e.rec
}

func (c *recordCache) put(rec *ports.Token, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= recordCacheMax {
		clear(c.m)
	}
	c.m[rec.ID] = cachedRecord{rec: rec, fetched: now}
}

// clear forgets every record, after a revocation on this replica: one
// revocation may reach many tokens (a grant, a client), and revocations
// are rare beside reads.
func (c *recordCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}
