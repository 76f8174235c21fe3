// Package memoutbox is an in-memory ports.Outbox for tests of the relay and
// of code that appends events: it keeps rows in append order, leases them
// by the time the caller passes, and holds nothing across restarts, so it
// is no substitute for a store's outbox table in production.
package memoutbox
