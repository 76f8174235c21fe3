package memory

import (
	"context"
	"time"

	"oauth2-server.dev/ports"
)

// UseJTI records key as used until expiresAt, atomically. ErrAlreadyUsed
// if the key is recorded and not expired at now; a record expired at now
// is replaced.
func (s *Store) UseJTI(ctx context.Context, tenant, jti string, expiresAt, now time.Time) error {
	return s.write(ctx, "UseJTI", nil, func() ([]ports.Event, func(), error) {
		k := key{tenant, jti}
		if exp, ok := s.jtis[k]; ok && live(exp, now) {
			return nil, nil, ports.ErrAlreadyUsed
		}
		return nil, func() { s.jtis[k] = ts(expiresAt) }, nil
	})
}
