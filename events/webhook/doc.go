// Package webhook is an events.Sink that POSTs batches of events as JSON
// to one URL, signed so the receiver can tell they came from this server
// and are fresh. It also holds Verify, for receivers written in Go and for
// tests. It only talks to the configured URL.
package webhook
