package core

import (
	"context"

	"oauth2-server.dev/ports"
)

// event builds a domain event of the request ctx belongs to. Events carry
// ids and names, never a token, code, secret or password. An event that
// describes a change of the store goes to the store with that change, so
// that both commit or neither does.
func (p *Provider) event(ctx context.Context, typ, subject, clientID string, data map[string]string) ports.Event {
	ev := ports.Event{
		ID: ports.NewEventID(), Time: p.clock.Now(), Type: typ, Tenant: p.cfg.Tenant,
		Subject: subject, ClientID: clientID, Data: data,
	}
	if p.traceID != nil {
		ev.TraceID = p.traceID(ctx)
	}
	return ev
}

// emit publishes an event that no change of the store goes with (a failed
// sign-in). Publishing never fails a request: the publisher counts what it
// could not deliver.
func (p *Provider) emit(ctx context.Context, typ, subject, clientID string, data map[string]string) {
	_ = p.events.Publish(ctx, p.event(ctx, typ, subject, clientID, data))
}

// discardEvents is the publisher of a provider built without one.
type discardEvents struct{}

func (discardEvents) Publish(context.Context, ...ports.Event) error { return nil }
