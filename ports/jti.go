package ports

import (
	"context"
	"time"
)

// JTIStore remembers single-use JWT ids (client assertions, DPoP proofs)
// until they expire, so a replay is refused on every replica.
type JTIStore interface {
	// UseJTI records key (a caller-chosen namespace plus the jti) as used
	// until expiresAt, atomically: of any number of concurrent calls for one
	// key exactly one succeeds. ErrAlreadyUsed if key is recorded and not
	// expired at now; a record expired at now is replaced.
	UseJTI(ctx context.Context, tenant, key string, expiresAt, now time.Time) error
}
