// Package ratelimit keeps any one client from taking more than its share
// of the server. It is the room in front of the handlers: limiters that keep
// budgets by key, HTTP middleware that applies them per route group, and a
// FailureGuard with a stricter budget for failed authentications. It
// imports ports and resilience, never httpapi or core: the server hands it
// the client address as a KeyFunc.
//
// # Algorithm and backends
//
// Both limiters implement GCRA (the Generic Cell Rate Algorithm), a token
// bucket whose whole state per key is one timestamp: Memory keeps it in
// sharded maps bounded in size, Redis in one key per budget updated by one
// atomic Lua script, so every replica draws on the same budget. Redis calls
// go through a resilience.Breaker with a short timeout; while Redis is
// unavailable the Redis limiter fails open, fails closed, or falls back to
// a Memory limiter, as configured.
//
// # Responses
//
// A refused request gets HTTP 429 with Retry-After and a JSON body in the
// shape of RFC 6749 §5.2, written by the server's one writer of them,
// ports/oautherr, unless the options inject another:
//
//	{"error":"temporarily_unavailable","error_description":"too many requests, retry after 2 seconds"}
//
// RFC 6749 has no error code for rate limiting, and §5.2 allows only
// registered codes. temporarily_unavailable (§4.1.2.1) is the registered
// code that means "retry later", so clients that key on the code do the
// right thing; the status 429 and Retry-After say precisely why and when.
// Inventing a code such as rate_limited would be clearer to a person and
// unknown to every client library.
//
// Responses on covered routes carry the RateLimit header fields of the
// IETF httpapi draft: RateLimit-Limit (the burst), RateLimit-Remaining,
// RateLimit-Reset (seconds until the budget is full again) and
// RateLimit-Policy ("100;w=2": the burst and the seconds it takes to
// refill).
//
// # Defaults
//
// DefaultLimits and DefaultRules give the limits the server runs with
// unless configured otherwise; see DefaultLimits for the numbers.
//
// # Metrics
//
//	oauth2_ratelimit_rejections_total{rule}
//	oauth2_ratelimit_backend_errors_total
package ratelimit
