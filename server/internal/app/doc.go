// Package app composes the server: it opens the store the configuration
// names, applies migrations, loads the signing keys, builds the protocol
// engine and the HTTP router, seeds dev-mode data, and serves until told to
// stop. It is the only package that knows every module. Whatever it opens
// (store, Redis and NATS connections, tracer, event bus, outbound
// connections, background work) goes onto one stack, released in reverse
// when a later step of the start fails and when the server closes.
package app
