package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/core"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
)

// countingPublisher counts domain events by type on their way to the
// sinks: tokens issued, refreshed and revoked, reuse detected, codes,
// logins, consents, logouts, key rotations.
type countingPublisher struct {
	next   ports.Publisher
	events *prometheus.CounterVec
}

func newCountingPublisher(next ports.Publisher, reg prometheus.Registerer) (*countingPublisher, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oauth2_domain_events_total",
		Help: "Domain events by type (token.issued, token.revoked, token.reuse_detected, code.issued, login.failed, ...).",
	}, []string{"type"})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	for _, t := range ports.EventTypes {
		c.WithLabelValues(t)
	}
	return &countingPublisher{next: next, events: c}, nil
}

func (c *countingPublisher) Publish(ctx context.Context, events ...ports.Event) error {
	for _, e := range events {
		c.events.WithLabelValues(e.Type).Inc()
	}
	return c.next.Publish(ctx, events...)
}

// keyAgeCollector reports how long each algorithm's current signing key
// has been signing, so an alert can catch a rotation that stopped.
type keyAgeCollector struct {
	p    *core.Provider
	desc *prometheus.Desc
}

func newKeyAgeCollector(p *core.Provider) *keyAgeCollector {
	return &keyAgeCollector{p: p, desc: prometheus.NewDesc("oauth2_signing_key_age_seconds",
		"Age of the signing key in use, by algorithm.", []string{"alg"}, nil)}
}

func (k *keyAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- k.desc }

func (k *keyAgeCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, alg := range keyset.Algorithms {
		if key := k.p.Keys().Current(alg); key != nil {
			ch <- prometheus.MustNewConstMetric(k.desc, prometheus.GaugeValue, now.Sub(key.NotBefore).Seconds(), alg)
		}
	}
}
