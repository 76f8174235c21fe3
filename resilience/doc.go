// Package resilience keeps the server answering when something it depends on
// does not. It is the room between the HTTP pipeline and the adapters:
//
//   - Breaker, a circuit breaker (github.com/sony/gobreaker/v2) that turns a
//     failing dependency into a fast ErrUnavailable instead of a pile of
//     requests waiting on timeouts;
//   - WrapStore, which runs every ports.Store call, the event outbox's
//     included, through a Breaker with a per-call deadline;
//   - Bulkhead, Shed and Deadline, HTTP middleware that bound concurrency per
//     route group, refuse work before queues grow, and give every request a
//     deadline.
//
// It imports ports and nothing of core or httpapi: refusals on the wire are
// RFC 6749 JSON bodies with the error code temporarily_unavailable (RFC 6749
// §4.1.2.1, §5.2), written by the server's one writer of them,
// ports/oautherr (or the WriteError a caller injects), so the middleware can
// answer before any handler runs. ErrUnavailable from a wrapped store is
// ports.ErrUnavailable, which core turns into the same code (HTTP 503).
//
// Metrics, when a Metrics is given, are:
//
//	oauth2_breaker_state{name}            gauge: 0 closed, 1 half-open, 2 open
//	oauth2_breaker_trips_total{name}      counter: transitions to open
//	oauth2_bulkhead_rejections_total{group} counter
//	oauth2_shed_total                     counter
package resilience
