// Package pkce checks Proof Key for Code Exchange (RFC 7636) values. Only
// the S256 method is accepted: "plain" offers no protection once the
// authorization request leaks, and RFC 9700 §2.1.1 advises against it.
package pkce
