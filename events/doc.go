// Package events delivers the server's domain events (ports.Event) to the
// systems that watch them: audit logs, security analytics, webhooks of
// tenants, other services.
//
// Two paths lead out. A Bus implements ports.Publisher for events that may
// be lost in a crash: Publish only enqueues, and one worker per sink sends
// batches with retries, so a slow or dead sink costs the request path
// nothing but a slot in a bounded buffer. A Relay drains a ports.Outbox,
// into which stores write events in the same transaction as the change
// they describe, and acknowledges an event only once every sink took it:
// delivery is at least once, and consumers deduplicate by Event.ID.
//
// Sinks live beside this package, one per dependency (memsink, redisstream,
// natsjs, webhook); the structured-log sink is here because it needs only
// log/slog. This package may import ports, prometheus and the standard
// library; it never imports core, httpapi or a store.
package events
