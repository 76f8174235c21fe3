// Package app composes the server: it opens the store the configuration
// names, applies migrations, loads the signing keys, builds the protocol
// engine and the HTTP router, seeds dev-mode data, and serves until told to
// stop. It is the only package that knows every module.
package app
