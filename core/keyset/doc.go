// Package keyset holds the server's signing keys: it generates a key per
// algorithm on first start, seals private keys with AES-256-GCM under the
// key-encryption key before they reach the store, signs compact JWS tokens
// and verifies the server's own tokens, and renders the public JWK set.
// It touches ports (the KeyStore) and crypto libraries only.
package keyset
