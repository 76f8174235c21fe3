// Package core is the protocol engine of the authorization server. It takes
// plain Go values, returns plain results or a *Error, and reaches storage
// only through ports. It imports no HTTP framework and no database driver;
// the httpapi module turns HTTP into calls here.
//
// Provider is the engine for one issuer and the one type httpapi calls. It
// composes a few services, each holding its settings as a typed value
// taken from Config and only the store methods it uses:
//
//   - the token service (token.go) is the token endpoint: it authenticates
//     the client, checks DPoP proofs and certificates, and dispatches on
//     grant_type to the grants. Each grant is a grant_*.go file with its
//     type, the narrow store interface it uses and its constructor, listed
//     once in grantRegistry. Grants issue tokens through the minter
//     (mint.go), which signs access and ID tokens with tokenSettings.
//   - the client service (client_auth.go, client_assertion.go,
//     client_certificate.go, register.go) keeps the clients: dynamic
//     registration, the operator's client operations, and client
//     authentication by secret, assertion and certificate, with
//     clientSettings.
//   - the session service (session.go, logout.go, users.go) signs people
//     in and out: passwords, login sessions, RP-initiated logout and the
//     front- and back-channel notices when a session ends, and the users
//     whose changes end sessions, with sessionSettings.
//   - the key service (keys.go) owns the signing keys: rotation on demand
//     and on schedule with keySettings, and the JWKS cache lifetime.
//   - the directory (caches.go) reads clients and users through short-lived
//     caches; eventSource (events.go) builds the domain events.
//
// Provider embeds the client and session services, so their exported
// methods are its own; it delegates to the token and key services. The
// rest still hangs off Provider, file by concern: authorization
// (authorize.go, par.go, request_object.go, request_uri.go, response.go,
// hybrid.go, consents.go), device and CIBA requests (device.go, ciba.go,
// pending.go), and the token-reading endpoints (introspect.go,
// userinfo.go, dpop.go).
//
// Every service gets the invalidatingStore (invalidation.go), never the
// raw store: a change that may make a cached client, user or token stale
// invalidates it there, and nowhere else.
package core
