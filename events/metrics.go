package events

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes counted in oauth2_events_published_total, per event.
const (
	// OutcomeSuccess: the sink accepted the event.
	OutcomeSuccess = "success"
	// OutcomeFailure: an attempt to send the event failed; it will be tried
	// again (by the Bus's retry or the Relay's next lease).
	OutcomeFailure = "failure"
	// OutcomeDropped: the Bus gave the event up (buffer full, attempts
	// exhausted, or closed before delivery). The Relay never drops.
	OutcomeDropped = "dropped"
)

type metrics struct {
	published *prometheus.CounterVec
}

// newMetrics registers the counter on reg, or reuses the one already there,
// so that a Bus and a Relay given the same Registerer share one series per
// sink and outcome instead of failing on the second registration. A nil reg
// counts into a private counter nobody scrapes.
func newMetrics(reg prometheus.Registerer, sinks []Sink) (*metrics, error) {
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oauth2_events_published_total",
		Help: "Events handed to a sink, by sink and outcome (success, failure: an attempt failed and will be retried, dropped: given up).",
	}, []string{"sink", "outcome"})
	if reg != nil {
		if err := reg.Register(cv); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, fmt.Errorf("events: register metrics: %w", err)
			}
			existing, ok := already.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("events: register metrics: %w", err)
			}
			cv = existing
		}
	}
	// Zero series from the start, so that rate() and alerts see a sink
	// before its first failure.
	for _, s := range sinks {
		for _, o := range []string{OutcomeSuccess, OutcomeFailure, OutcomeDropped} {
			cv.WithLabelValues(s.Name(), o)
		}
	}
	return &metrics{published: cv}, nil
}

func (m *metrics) add(sink, outcome string, n int) {
	if n > 0 {
		m.published.WithLabelValues(sink, outcome).Add(float64(n))
	}
}
