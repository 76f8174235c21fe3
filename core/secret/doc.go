// Package secret makes and checks the server's secrets: random tokens,
// digests of high-entropy tokens (codes, refresh tokens), keyed hashes of
// client secrets, argon2id hashes of user passwords, and subkeys derived
// from the operator's key-encryption key. Every comparison is constant-time.
package secret
