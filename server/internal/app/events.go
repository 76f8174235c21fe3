package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/config"
	"oauth2-server.dev/events"
	"oauth2-server.dev/events/natsjs"
	"oauth2-server.dev/events/redisstream"
	"oauth2-server.dev/events/webhook"
	"oauth2-server.dev/ports"
)

// eventBus builds the configured sinks and the bus that feeds them.
// Sinks never block a request: each has its own buffer and retries.
func eventBus(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (ports.Publisher, func(), error) {
	var sinks []events.Sink
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, name := range cfg.EventSinks {
		switch name {
		case "log":
			sinks = append(sinks, events.NewLogSink(log.With("component", "events")))
		case "redis":
			opts, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("OAUTH2_REDIS_URL: %w", err)
			}
			client := redis.NewClient(opts)
			closers = append(closers, func() { _ = client.Close() })
			s, err := redisstream.New(redisstream.Config{Client: client})
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			sinks = append(sinks, s)
		case "nats":
			// A NATS server that is down at start must not keep the
			// server from starting: the connection keeps retrying.
			nc, err := nats.Connect(cfg.NATSURL, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("OAUTH2_NATS_URL: %w", err)
			}
			closers = append(closers, nc.Close)
			s, err := natsjs.New(natsjs.Config{Conn: nc})
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			sinks = append(sinks, s)
		case "webhook":
			s, err := webhook.New(webhook.Config{URL: cfg.EventWebhookURL, Secret: []byte(cfg.EventWebhookSecret)})
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			sinks = append(sinks, s)
		}
	}
	if len(sinks) == 0 || slices.Contains(cfg.EventSinks, "none") {
		closeAll()
		return events.Discard{}, func() {}, nil
	}
	bus, err := events.NewBus(events.BusConfig{Sinks: sinks, Registerer: reg, Logger: log})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return bus, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = bus.Close(ctx)
		closeAll()
	}, nil
}
