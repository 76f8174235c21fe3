// Package core is the protocol engine of the authorization server. It takes
// plain Go values, returns plain results or a *Error, and reaches storage
// only through ports. It imports no HTTP framework and no database driver;
// the httpapi module turns HTTP into calls here.
//
// Provider is the engine for one issuer and the one type httpapi calls. It
// is small: it names the endpoints, writes the discovery document, waits
// for background work on shutdown, and composes a few services. Each
// service holds its settings as one typed value taken from Config (ready
// to be resolved per tenant) and a store interface of only the methods it
// calls:
//
//   - the authorization service (authorize.go, par.go, request_object.go,
//     request_uri.go, response.go, hybrid.go, consents.go,
//     authorization_details.go): the authorization endpoint, pushed
//     requests, request objects, response modes, consents.
//   - the token service (token.go, introspect.go, userinfo.go, dpop.go):
//     the token endpoint, introspection, revocation, UserInfo and the DPoP
//     checks they share. The token endpoint dispatches on grant_type to the
//     grants; each grant is a grant_*.go file with its type, the narrow
//     store interface it uses and its constructor, listed once in
//     grantRegistry. Grants issue tokens through the minter (mint.go).
//   - the decision service (device.go, ciba.go, pending.go): device
//     authorization and backchannel authentication requests, which wait
//     while a person decides elsewhere, and their decisions.
//   - the client service (client_auth.go, client_assertion.go,
//     client_certificate.go, register.go): dynamic registration, the
//     operator's client operations, and client authentication by secret,
//     assertion and certificate.
//   - the session service (session.go, logout.go, users.go): password
//     sign-in, login sessions, RP-initiated logout, the front- and
//     back-channel notices when a session ends, and the users whose
//     changes end sessions.
//   - the key service (keys.go): signing key rotation, on demand and on
//     schedule, and the JWKS cache lifetime.
//
// Provider embeds the services whose methods httpapi calls, so those
// methods are its own; a service reaches another only through a small
// interface of the methods it needs. The directory (caches.go) reads
// clients and users through short-lived caches, and eventSource
// (events.go) builds the domain events.
//
// Every service gets the invalidatingStore (invalidation.go), never the
// raw store: a change that may make a cached client, user or token stale
// invalidates it there, and nowhere else.
package core
