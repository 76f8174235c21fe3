// Package memsink is an in-memory events.Sink for tests: it records every
// batch it accepts, lets a test wait for a number of events without
// sleeping, and can be told to fail to stand in for a sink outage. It
// touches nothing outside the process.
package memsink
