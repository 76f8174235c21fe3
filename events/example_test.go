package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/events"
	"oauth2-server.dev/events/memoutbox"
	"oauth2-server.dev/events/memsink"
	"oauth2-server.dev/ports"
)

func ExampleNewBus() {
	audit := memsink.New("audit")
	bus, err := events.NewBus(events.BusConfig{
		Sinks:      []events.Sink{audit},
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		panic(err)
	}
	// On a request path: publish, and only log a failure.
	err = bus.Publish(context.Background(), ports.Event{
		ID:       ports.NewEventID(),
		Time:     time.Now(),
		Type:     ports.EventTokenIssued,
		ClientID: "billing-service",
		Data:     map[string]string{"grant_type": "client_credentials"},
	})
	if err != nil {
		slog.Warn("event not published", "error", err)
	}
	// At shutdown: give the sinks a bounded time to drain.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = bus.Close(ctx)
	fmt.Println(audit.Events()[0].Type)
	// Output: token.issued
}

func ExampleNewRelay() {
	outbox := memoutbox.New() // a store's outbox table in production
	_ = outbox.Append(ports.Event{ID: ports.NewEventID(), Time: time.Now(), Type: ports.EventCodeRedeemed})

	sink := memsink.New("stream")
	relay, err := events.NewRelay(events.RelayConfig{
		Outbox: outbox,
		Sinks:  []events.Sink{sink},
		Lease:  30 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	// A server runs relay.Run(ctx) in its own goroutine; one round here.
	n, err := relay.RunOnce(context.Background())
	fmt.Println(n, err, outbox.Len())
	// Output: 1 <nil> 0
}

func ExampleNewLogSink() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		// Drop the time so the output below is stable.
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	sink := events.NewLogSink(logger)
	_ = sink.Send(context.Background(), []ports.Event{{
		ID:   "0f8c",
		Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Type: ports.EventKeyRotated,
		Data: map[string]string{"kid": "k2"},
	}})
	// Output: level=INFO msg=event event.id=0f8c event.type=key.rotated event.time=2026-03-01T12:00:00.000Z event.data.kid=k2
}
