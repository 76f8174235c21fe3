// Package ports is the vocabulary of the authorization server: the entities
// every module talks about (clients, users, codes, tokens, sessions, consents,
// signing keys) and the small interfaces that storage and other adapters
// implement. It imports nothing but the standard library, so the protocol
// engine in core and every adapter can depend on it without depending on each
// other.
//
// Store interfaces are small and by concern, one file each (client.go,
// token.go, outbox.go, ...); Store composes all of them, and every storage
// adapter provides the whole of it, so that no capability is looked for at
// run time. Consumers take the narrowest interface that serves them.
//
// Each port method documents its error contract: which sentinel error of this
// package it returns for a missing record, a conflict or a single-use record
// that was already used. Adapters translate driver errors into those
// sentinels at their edge; core maps them to the protocol errors a client
// sees. Package oautherr below writes those errors on the wire, for httpapi
// and for the edge middlewares that answer before any handler runs.
package ports
