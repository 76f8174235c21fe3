package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/config"
	"oauth2-server.dev/events"
	"oauth2-server.dev/events/natsjs"
	"oauth2-server.dev/events/redisstream"
	"oauth2-server.dev/events/webhook"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
)

// eventPipeline is where domain events go: the store's outbox, relayed to
// the sinks at least once, or nowhere when no sink is configured.
type eventPipeline struct {
	publisher ports.Publisher
	relay     *events.Relay
}

// relayEvents hands the relay events just committed to the outbox, which
// the store leased to this process as it appended them: the relay sends
// them from memory, without claiming them.
func (p *eventPipeline) relayEvents(evs []ports.Event) {
	if p.relay != nil {
		p.relay.Hand(evs)
	}
}

// DiscardUnrelayedEvents makes st keep no events in its outbox when cfg
// names no event sink: nothing would ever take them out. Commands that
// change the store outside a running server call it as the server does.
func DiscardUnrelayedEvents(cfg *config.Config, st ports.EventDiscarder) {
	if noEventSinks(cfg) {
		st.DiscardEvents()
	}
}

// noEventSinks reports whether cfg sends events nowhere: it names no sink,
// or "none" among them.
func noEventSinks(cfg *config.Config) bool {
	return len(cfg.Events.Sinks) == 0 || slices.Contains(cfg.Events.Sinks, "none")
}

// relayLease is how long a batch the relay claims, or a handed batch, is
// hidden from other relays. Short: events a failed send left behind are
// retried within seconds once the sink is back.
const relayLease = 10 * time.Second

// relaySendTimeout bounds the sends of one batch, half the lease so that
// a send never outlives it; sinkSendTimeout, each sink's own bound, ends
// first, so that a sink that stops answering counts against its breaker.
const (
	relaySendTimeout = relayLease / 2
	sinkSendTimeout  = relaySendTimeout - time.Second
)

// buildEvents composes the pipeline. An event is durable in the store as
// soon as Publish returns and the relay delivers it to every sink at least
// once, across sink outages and restarts; consumers deduplicate by event
// id. The relay claims from guarded, st behind the store's breaker; events
// are appended to st itself, falling back to the in-memory bus when that
// fails. The sinks' connections and the bus are pushed onto res.
func buildEvents(cfg *config.Config, st ports.EventStore, guarded ports.Outbox, rm *resilience.Metrics, reg prometheus.Registerer, log *slog.Logger, res *resources) (*eventPipeline, error) {
	sinks, err := eventSinks(cfg, log, res)
	if err != nil {
		return nil, err
	}
	for i, s := range sinks {
		sinks[i] = breakerSink{Sink: s, b: resilience.NewBreaker(resilience.BreakerSettings{Name: "sink_" + s.Name(), Metrics: rm}), timeout: sinkSendTimeout}
	}
	if len(sinks) == 0 {
		DiscardUnrelayedEvents(cfg, st)
		return &eventPipeline{publisher: events.Discard{}}, nil
	}
	bus, err := events.NewBus(events.BusConfig{Sinks: sinks, Registerer: reg, Logger: log})
	if err != nil {
		return nil, err
	}
	// The bus sends what it holds before the sinks' connections close.
	res.push("event bus", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return bus.Close(ctx)
	})
	relay, err := events.NewRelay(events.RelayConfig{
		Outbox: guarded, Sinks: sinks, Registerer: reg, Logger: log,
		Lease: relayLease, SendTimeout: relaySendTimeout,
	})
	if err != nil {
		return nil, err
	}
	// Events of this process's commits go to its relay from memory: no
	// claim is needed to lease them, only the acknowledgement is written.
	st.LeaseOnAppend(relayLease)
	pipeline := &eventPipeline{relay: relay}
	pipeline.publisher = &outboxPublisher{log: st, relay: pipeline.relayEvents, fallback: bus,
		outage: newOutageLog(log, "event outbox", "events_go_to", "in-memory bus")}
	return pipeline, nil
}

// outboxPublisher appends events to the store's outbox and hands them to
// the relay. While the store cannot take them, events go to the in-memory bus
// instead, which still delivers them unless the process stops first.
type outboxPublisher struct {
	log      ports.EventLog
	relay    func([]ports.Event)
	fallback ports.Publisher
	outage   *outageLog
}

func (p *outboxPublisher) Publish(ctx context.Context, evs ...ports.Event) error {
	// The change the events describe has happened: a client that hangs up
	// now must not cost the record of it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeCallLimit)
	defer cancel()
	if err := p.log.AppendEvents(ctx, evs...); err != nil {
		p.outage.failed(err)
		return p.fallback.Publish(ctx, evs...)
	}
	p.outage.ok()
	p.relay(evs)
	return nil
}

// eventSinks builds the configured sinks, pushing their connections onto
// res.
func eventSinks(cfg *config.Config, log *slog.Logger, res *resources) ([]events.Sink, error) {
	if noEventSinks(cfg) {
		return nil, nil
	}
	var sinks []events.Sink
	for _, name := range cfg.Events.Sinks {
		switch name {
		case "log":
			sinks = append(sinks, events.NewLogSink(log.With("component", "events")))
		case "redis":
			client, err := newRedisClient(cfg.Redis.URL, redisSinkTimeout, log)
			if err != nil {
				return nil, err
			}
			res.push("event sink Redis client", client.Close)
			s, err := redisstream.New(redisstream.Config{Client: client})
			if err != nil {
				return nil, err
			}
			sinks = append(sinks, s)
		case "nats":
			// A NATS server that is down at start must not keep the
			// server from starting: the connection keeps retrying.
			nc, err := nats.Connect(cfg.Events.NATSURL, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))
			if err != nil {
				return nil, fmt.Errorf("OAUTH2_NATS_URL: %w", err)
			}
			res.pushFunc("NATS connection", nc.Close)
			s, err := natsjs.New(natsjs.Config{Conn: nc})
			if err != nil {
				return nil, err
			}
			sinks = append(sinks, s)
		case "webhook":
			s, err := webhook.New(webhook.Config{URL: cfg.Events.WebhookURL, Secret: []byte(cfg.Events.WebhookSecret)})
			if err != nil {
				return nil, err
			}
			sinks = append(sinks, s)
		}
	}
	return sinks, nil
}
