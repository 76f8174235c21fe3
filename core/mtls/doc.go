// Package mtls reads and matches the TLS client certificates of mutual-TLS
// client authentication and certificate-bound tokens (RFC 8705). It parses
// the certificate a TLS-terminating proxy forwards in a header (URL-encoded
// PEM as nginx sends it, RFC 9440 structured-field byte sequences, Envoy's
// X-Forwarded-Client-Cert), computes a certificate's x5t#S256 thumbprint,
// parses RFC 4514 distinguished names, and matches a certificate's subject
// or subject alternative names against what a client registered.
//
// It keeps no state and imports no HTTP server types and no store. Whether
// a chain leads to a trusted CA is left to crypto/x509 in core, which also
// decides what a refusal means on the wire; the error texts here are fit
// for an error_description and never repeat the input.
package mtls
