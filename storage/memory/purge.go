package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"oauth2-server.dev/ports"
)

// PurgeExpired deletes at most limit records of kind, in every tenant,
// whose expiry is at or before before, soonest expired first, and returns
// how many it deleted.
func (s *Store) PurgeExpired(ctx context.Context, kind string, before time.Time, limit int) (int, error) {
	const method = "PurgeExpired"
	if err := s.enter(ctx, method); err != nil {
		return 0, err
	}
	if limit < 1 {
		return 0, fmt.Errorf("memory: %s %s: limit %d is not positive", method, kind, limit)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := ts(before)
	switch kind {
	case ports.PurgeAuthRequests:
		return purge(s.authRequests, func(r *ports.AuthRequest) time.Time { return r.ExpiresAt }, at, limit, nil), nil
	case ports.PurgeAuthCodes:
		return purge(s.codes, func(c *ports.AuthorizationCode) time.Time { return c.ExpiresAt }, at, limit, nil), nil
	case ports.PurgeTokens:
		return purge(s.tokens, func(t *ports.Token) time.Time { return t.ExpiresAt }, at, limit, nil), nil
	case ports.PurgeSessions:
		return purge(s.sessions, func(sess *ports.Session) time.Time { return sess.ExpiresAt }, at, limit, nil), nil
	case ports.PurgeJTIs:
		return purge(s.jtis, func(exp time.Time) time.Time { return exp }, at, limit, nil), nil
	case ports.PurgeDeviceCodes:
		return purge(s.devices, func(d *ports.DeviceCode) time.Time { return d.ExpiresAt }, at, limit, func(d *ports.DeviceCode) {
			delete(s.userCodes, key{d.Tenant, d.UserCode})
		}), nil
	case ports.PurgeCIBARequests:
		return purge(s.ciba, func(r *ports.CIBARequest) time.Time { return r.ExpiresAt }, at, limit, func(r *ports.CIBARequest) {
			delete(s.decisions, key{r.Tenant, r.DecisionHash})
		}), nil
	}
	return 0, fmt.Errorf("memory: %s: unknown kind %q", method, kind)
}

// purge deletes from m at most limit records expired at or before at,
// soonest expired first, calling drop, if set, with each. s.mu is held.
func purge[V any](m map[key]V, expiry func(V) time.Time, at time.Time, limit int, drop func(V)) int {
	var expired []key
	for k, v := range m {
		if !expiry(v).After(at) {
			expired = append(expired, k)
		}
	}
	slices.SortFunc(expired, func(a, b key) int {
		return cmp.Or(expiry(m[a]).Compare(expiry(m[b])), strings.Compare(a.tenant, b.tenant), strings.Compare(a.id, b.id))
	})
	expired = expired[:min(limit, len(expired))]
	for _, k := range expired {
		if drop != nil {
			drop(m[k])
		}
		delete(m, k)
	}
	return len(expired)
}
