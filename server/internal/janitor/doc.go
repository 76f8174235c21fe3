// Package janitor is the server's cleaning room: on an interval it has the
// store delete expired authorization requests, codes, tokens, sessions,
// jti records, device codes and CIBA requests, in bounded batches, so that
// tables stay bounded under steady traffic on every backend. It counts
// what it removes in oauth2_janitor_deleted_total.
//
// It may touch the store only through ports.Purger, and it knows nothing
// of which backend is behind it.
package janitor
