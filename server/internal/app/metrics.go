package app

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/core"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
)

// eventCounter counts domain events by type: tokens issued, refreshed and
// revoked, reuse detected, codes, logins, consents, logouts, key
// rotations. It sees the events the store commits with their changes and
// those published on their own.
type eventCounter struct {
	events *prometheus.CounterVec
	byType map[string]prometheus.Counter
}

func newEventCounter(reg prometheus.Registerer) (*eventCounter, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oauth2_domain_events_total",
		Help: "Domain events by type (token.issued, token.revoked, token.reuse_detected, code.issued, login.failed, ...).",
	}, []string{"type"})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	byType := make(map[string]prometheus.Counter, len(ports.EventTypes))
	for _, t := range ports.EventTypes {
		byType[t] = c.WithLabelValues(t)
	}
	return &eventCounter{events: c, byType: byType}, nil
}

func (c *eventCounter) count(events []ports.Event) {
	for _, e := range events {
		if n, ok := c.byType[e.Type]; ok {
			n.Inc()
		} else {
			c.events.WithLabelValues(e.Type).Inc()
		}
	}
}

// countingPublisher counts the events published on their own.
type countingPublisher struct {
	next    ports.Publisher
	counter *eventCounter
}

func (c *countingPublisher) Publish(ctx context.Context, events ...ports.Event) error {
	c.counter.count(events)
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

// sessionCollector reports the live sign-in sessions in the store. The
// count is a store query, so it is taken at most once per
// sessionCountTTL however often Prometheus scrapes, and a store that does
// not answer within storeCallLimit leaves the last count out rather than
// stalling the scrape.
type sessionCollector struct {
	store  ports.SessionStore
	tenant string
	clock  ports.Clock
	desc   *prometheus.Desc

	mu      sync.Mutex
	at      time.Time
	count   int
	counted bool
}

const sessionCountTTL = 15 * time.Second

func newSessionCollector(store ports.SessionStore, tenant string, clock ports.Clock) *sessionCollector {
	return &sessionCollector{store: store, tenant: tenant, clock: clock, desc: prometheus.NewDesc("oauth2_active_sessions",
		"Live sign-in sessions in the store (counted at most every 15s).", nil, nil)}
}

func (s *sessionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *sessionCollector) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if !s.counted || now.Sub(s.at) >= sessionCountTTL {
		ctx, cancel := context.WithTimeout(context.Background(), storeCallLimit)
		n, err := s.store.CountSessions(ctx, s.tenant, now)
		cancel()
		if err != nil {
			return
		}
		s.count, s.at, s.counted = n, now, true
	}
	ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, float64(s.count))
}
