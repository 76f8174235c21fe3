// Command bench measures a running oauth2-server from the same machine.
//
// It starts nothing itself: it registers its own clients at the server
// given by -url, signs the user in through the real sign-in and consent
// pages, then runs closed-loop scenarios (client_credentials, introspection
// of JWT and opaque tokens, refresh rotation, authorization code exchange,
// userinfo, discovery, JWKS) for a fixed time at a fixed concurrency. Before
// them it runs a transport ceiling in its own process, a bare net/http token
// endpoint that signs the same ES256 JWT with no storage, and prints every
// scenario as a fraction of it. After the run it reads the server's peak
// RSS from /proc.
//
//	go run ./bench -url http://127.0.0.1:8080 -registration-token TOKEN \
//	    -username U -password P -c 32 -d 10s -scenarios all
//
// See docs/performance.md for how to start the server for a run and for the
// figures of a reference run.
package main
