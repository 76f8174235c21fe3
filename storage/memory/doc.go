// Package memory is the in-memory room of the storage wing: a ports.Store
// that keeps everything in maps behind one mutex, for tests of the engine
// and of what wraps a store. The server does not offer it as a store:
// nothing in it survives a restart.
//
// It is held to the same contract as the SQL and MongoDB stores (it runs
// the ports/storetest suite): tenants are isolated, records expire at their
// ExpiresAt, single-use records stay single-use under concurrency, a write
// stores its events in an outbox with the change or not at all, and the
// outbox hands them out with the same claim, lease and acknowledgement
// rules. Times are kept as the SQL store keeps them, in UTC to the
// microsecond, and every value goes in and out as a copy, so a caller
// cannot change what the store holds behind its back.
//
// Options.Fault lets a test of a caller make any method fail or hang, so
// that one store serves the tests of the engine and of the wrappers around
// stores alike.
//
// It imports ports and the standard library, nothing else.
package memory
