// Package natsjs is an events.Sink that publishes events to NATS
// JetStream, one message per event on the subject <prefix>.<event type>,
// with the event id as Nats-Msg-Id so the stream itself drops repeats
// within its duplicate window. It creates its stream when absent and
// otherwise leaves stream configuration to the operator; the caller owns
// the connection.
package natsjs
