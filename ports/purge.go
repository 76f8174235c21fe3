package ports

import (
	"context"
	"time"
)

// Kinds of expiring records a Purger deletes.
const (
	PurgeAuthRequests = "auth_requests"
	PurgeAuthCodes    = "auth_codes"
	PurgeTokens       = "tokens"
	PurgeSessions     = "sessions"
	PurgeJTIs         = "jtis"
	PurgeDeviceCodes  = "device_codes"
	PurgeCIBARequests = "ciba_requests"
)

// PurgeKinds lists every kind, in the order a janitor visits them.
var PurgeKinds = []string{PurgeAuthRequests, PurgeAuthCodes, PurgeTokens, PurgeSessions, PurgeJTIs, PurgeDeviceCodes, PurgeCIBARequests}

// Purger deletes expired records so tables stay bounded under steady
// traffic.
type Purger interface {
	// PurgeExpired deletes at most limit records of kind, in every tenant,
	// whose expiry is at or before before, and returns how many it deleted.
	// A caller loops until fewer than limit come back. An unknown kind is an
	// error.
	PurgeExpired(ctx context.Context, kind string, before time.Time, limit int) (int, error)
}
