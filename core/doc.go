// Package core is the protocol engine of the authorization server: the
// authorization endpoint's decisions, the token grants, client
// authentication, token and ID-token minting, userinfo, dynamic client
// registration and the discovery document. It takes plain Go values, returns
// plain results or a *Error, and reaches storage only through ports. It
// imports no HTTP framework and no database driver; the httpapi module turns
// HTTP into calls here.
package core
