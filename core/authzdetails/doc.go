// Package authzdetails reads the authorization_details parameter of Rich
// Authorization Requests (RFC 9396): a JSON array of objects, each naming
// its type and, in common fields, the locations, actions, data types,
// identifier and privileges it asks for.
//
// Parse is meant for what clients send: it bounds size, entries and
// nesting, refuses repeated member names and invalid UTF-8, and checks the
// types of the common fields. A parsed List has one canonical JSON form,
// which is what tokens and records carry, and can tell whether it covers a
// narrower request (RFC 9396 §6.1).
//
// The package knows nothing of clients or of the types an operator
// accepts: core decides that and turns the errors into protocol errors. It
// imports the standard library only.
package authzdetails
