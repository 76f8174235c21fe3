package resilience

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/resilience/promreg"
)

// Metrics holds the package's Prometheus collectors. A nil *Metrics is valid
// and records nothing, so every constructor accepts one unconditionally.
type Metrics struct {
	breakerState       *prometheus.GaugeVec
	breakerTrips       *prometheus.CounterVec
	bulkheadRejections *prometheus.CounterVec
	shed               prometheus.Counter
	callDuration       *prometheus.HistogramVec
}

// NewMetrics creates the collectors and registers them on reg. Registering
// twice on one registry (two routers built in one process, as tests do)
// reuses the collectors already there instead of failing.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oauth2_breaker_state",
			Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
		}, []string{"name"}),
		breakerTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2_breaker_trips_total",
			Help: "Transitions of a circuit breaker to the open state.",
		}, []string{"name"}),
		bulkheadRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2_bulkhead_rejections_total",
			Help: "Requests refused because a route group's bulkhead was full.",
		}, []string{"group"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oauth2_shed_total",
			Help: "Requests refused because the server had too many in flight.",
		}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oauth2_dependency_call_duration_seconds",
			Help:    "Latency of calls through a circuit breaker (the store, Redis), by breaker name.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"name"}),
	}
	var err error
	if m.breakerState, err = promreg.Register(reg, m.breakerState); err != nil {
		return nil, err
	}
	if m.breakerTrips, err = promreg.Register(reg, m.breakerTrips); err != nil {
		return nil, err
	}
	if m.bulkheadRejections, err = promreg.Register(reg, m.bulkheadRejections); err != nil {
		return nil, err
	}
	if m.shed, err = promreg.Register(reg, m.shed); err != nil {
		return nil, err
	}
	if m.callDuration, err = promreg.Register(reg, m.callDuration); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) observeCall(name string, d time.Duration) {
	if m != nil {
		m.callDuration.WithLabelValues(name).Observe(d.Seconds())
	}
}

func (m *Metrics) setBreakerState(name string, s State) {
	if m != nil {
		m.breakerState.WithLabelValues(name).Set(float64(s))
	}
}

func (m *Metrics) breakerTripped(name string) {
	if m != nil {
		m.breakerTrips.WithLabelValues(name).Inc()
	}
}

func (m *Metrics) bulkheadRejected(group string) {
	if m != nil {
		m.bulkheadRejections.WithLabelValues(group).Inc()
	}
}

func (m *Metrics) shedOne() {
	if m != nil {
		m.shed.Inc()
	}
}
