package core

import (
	"context"

	"oauth2-server.dev/ports"
)

// eventSource builds the domain events of one tenant and publishes those
// that no store change carries.
type eventSource struct {
	tenant    string
	clock     ports.Clock
	traceID   func(context.Context) string
	publisher ports.Publisher
}

// event builds a domain event of the request ctx belongs to. Events carry
// ids and names, never a token, code, secret or password. An event that
// describes a change of the store goes to the store with that change, so
// that both commit or neither does.
func (s *eventSource) event(ctx context.Context, typ, subject, clientID string, data map[string]string) ports.Event {
	ev := ports.Event{
		ID: ports.NewEventID(), Time: s.clock.Now(), Type: typ, Tenant: s.tenant,
		Subject: subject, ClientID: clientID, Data: data,
	}
	if s.traceID != nil {
		ev.TraceID = s.traceID(ctx)
	}
	return ev
}

// emit publishes an event that no change of the store goes with (a failed
// sign-in). Publishing never fails a request: the publisher counts what it
// could not deliver.
func (s *eventSource) emit(ctx context.Context, typ, subject, clientID string, data map[string]string) {
	_ = s.publisher.Publish(ctx, s.event(ctx, typ, subject, clientID, data))
}

// discardEvents is the publisher of a provider built without one.
type discardEvents struct{}

func (discardEvents) Publish(context.Context, ...ports.Event) error { return nil }
