package ratelimit

import (
	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/resilience/promreg"
)

// Metrics holds the package's Prometheus collectors. A nil *Metrics is valid
// and records nothing.
type Metrics struct {
	rejections     *prometheus.CounterVec
	backendFailure prometheus.Counter
}

// NewMetrics creates the collectors and registers them on reg:
//
//	oauth2_ratelimit_rejections_total{rule}  requests refused, by rule name
//	oauth2_ratelimit_backend_errors_total    limiter calls Redis did not answer
//
// Labels carry rule names only, never a key: keys are client addresses, ids
// and usernames. Registering twice on one registry reuses the collectors.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	rejections := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oauth2_ratelimit_rejections_total",
		Help: "Requests refused by a rate limit, by rule.",
	}, []string{"rule"})
	backend := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "oauth2_ratelimit_backend_errors_total",
		Help: "Rate limiter calls that the shared backend (Redis) did not answer; each was decided by the failure mode.",
	})
	var err error
	m := &Metrics{}
	if m.rejections, err = promreg.Register(reg, rejections); err != nil {
		return nil, err
	}
	if m.backendFailure, err = promreg.Register(reg, backend); err != nil {
		return nil, err
	}
	return m, nil
}

// forRules creates a zero series per rule, so dashboards see every rule
// before its first rejection.
func (m *Metrics) forRules(names ...string) {
	if m != nil {
		for _, n := range names {
			m.rejections.WithLabelValues(n)
		}
	}
}

func (m *Metrics) rejected(rule string) {
	if m != nil {
		m.rejections.WithLabelValues(rule).Inc()
	}
}

func (m *Metrics) backendFailed() {
	if m != nil {
		m.backendFailure.Inc()
	}
}
