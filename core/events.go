package core

import (
	"context"

	"oauth2-server.dev/ports"
)

// emit publishes a domain event. Publishing never fails a request: the
// publisher counts what it could not deliver. Events carry ids and names,
// never a token, code, secret or password.
func (p *Provider) emit(ctx context.Context, typ, subject, clientID string, data map[string]string) {
	ev := ports.Event{
		ID: ports.NewEventID(), Time: p.clock.Now(), Type: typ, Tenant: p.cfg.Tenant,
		Subject: subject, ClientID: clientID, Data: data,
	}
	if p.traceID != nil {
		ev.TraceID = p.traceID(ctx)
	}
	_ = p.events.Publish(ctx, ev)
}

// discardEvents is the publisher of a provider built without one.
type discardEvents struct{}

func (discardEvents) Publish(context.Context, ...ports.Event) error { return nil }
