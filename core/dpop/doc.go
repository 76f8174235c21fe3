// Package dpop checks DPoP proofs (RFC 9449): the signed JWTs with which a
// client proves, on every request, that it holds the private key its
// tokens are bound to. It parses and verifies a proof against the request
// it came with (method, URL, access token, time) and issues and checks the
// server's stateless nonces (RFC 9449 §8, §9).
//
// It keeps no state: whether a proof's jti was seen before is a question
// for the caller's store, which answers it for every replica at once. It
// imports no HTTP server types and no store; core turns its errors into
// protocol errors.
package dpop
