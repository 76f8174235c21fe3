// Package storetest is the contract every ports.Store adapter must honour,
// written once as a test suite so that SQL, MongoDB and in-memory stores are
// held to the same behaviour: round trips that keep every field, the
// ErrNotFound / ErrConflict / ErrAlreadyUsed sentinels, tenant isolation,
// expiry, and single-use records that stay single-use under concurrency.
//
// Adapters call Run from their own tests. The package imports only ports and
// the standard library, and it never touches a backend itself: every store
// it exercises comes from the adapter's open function.
package storetest
