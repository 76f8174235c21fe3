// Package mongostore is the MongoDB room of the storage wing: one
// ports.Store implementation on go.mongodb.org/mongo-driver/v2, with the
// versioned migrations that create its collections and indexes.
//
// It may import ports, the driver and the standard library, nothing else of
// the server. Driver errors are translated into ports sentinels at the
// edge; BSON types stay inside.
//
// # Data layout
//
// Every document carries its tenant, and every unique index starts with
// it. Documents get a fresh ObjectID as _id and are found by their
// natural key (tenant plus id, hash or username) through a unique index.
// Times are int64 Unix microseconds in UTC: BSON dates keep only
// milliseconds, while ports times carry microseconds and must read back
// Equal. Expiry is decided by the now each call is given, never by the
// server's clock: reads filter on expires_at, and PurgeExpired deletes.
// There are no TTL indexes, which would need BSON dates and would delete
// by the server's clock behind the contract's back.
//
// # Atomicity without transactions
//
// Multi-document transactions need a replica set, and the FerretDB test
// server runs an update as a read followed by a write, so neither a
// conditional update nor findOneAndUpdate decides a race there. Every
// single-use or compare-and-swap operation is therefore decided by one of
// two primitives that are atomic on MongoDB and on FerretDB alike:
//
//   - inserting into a unique index: of concurrent inserts of one key
//     exactly one succeeds. Redeeming a code, rotating a refresh token and
//     deciding or redeeming a device request insert a claim document
//     (collection claims, unique on tenant, kind and key) that records the
//     outcome; the record itself stays as created, and reads merge its
//     claims in.
//   - deleting one document by its _id and reading DeletedCount: of
//     concurrent deletes exactly one counts 1. Since an _id is never
//     reused, a delete can only ever remove the instance its caller read.
//     Consuming an authorization request, replacing an expired jti and
//     taking over an expired event lease are built on it.
//
// # Event outbox
//
// Undelivered events sit in event_outbox, unique on the event id and
// never changed once inserted; append order is _id order. A relay's lease
// on an event is a document of its own in event_leases, unique on the
// event id, taken as UseJTI takes a jti: insert, and if an expired lease
// is in the way, delete that lease by its _id and insert again. Two
// relays therefore never hold unexpired leases on one event at once.
// AckEvents deletes the events and then their leases; an ack cut short
// between the two leaves leases behind that name no event and are never
// read.
//
// The events a write method is given are inserted right after its change
// succeeds, not in one transaction with it: a failed insert fails the
// call (every change here can be retried), but a process that dies
// between the two writes loses that change's events. The SQL stores,
// which have transactions, do not have this window.
package mongostore
