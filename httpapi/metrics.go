package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"oauth2-server.dev/core"
)

// metrics are the HTTP layer's Prometheus series. Labels carry route
// patterns, never raw paths, so client ids and tokens cannot reach them.
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	tokensIssued *prometheus.CounterVec
	authFailures *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oauth2_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2_tokens_issued_total",
			Help: "Tokens issued by grant type and token (access_token, refresh_token, id_token).",
		}, []string{"grant_type", "token"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2_authentication_failures_total",
			Help: "Failed authentications by kind (client, user, admin).",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.requests, m.duration, m.tokensIssued, m.authFailures)
	// A registry shared with other code may already hold these.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := captureStatus(w)
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status())).Inc()
		m.duration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// countTokens counts the tokens of one successful token response.
func (m *metrics) countTokens(grantType string, resp *core.TokenResponse) {
	m.tokensIssued.WithLabelValues(grantType, "access_token").Inc()
	if resp.RefreshToken != "" {
		m.tokensIssued.WithLabelValues(grantType, "refresh_token").Inc()
	}
	if resp.IDToken != "" {
		m.tokensIssued.WithLabelValues(grantType, "id_token").Inc()
	}
}

// countFrontChannel counts the tokens an authorization response carries
// beside the code (hybrid response types), under the implicit grant type
// that registration pairs them with.
func (m *metrics) countFrontChannel(kinds []string) {
	for _, k := range kinds {
		m.tokensIssued.WithLabelValues(core.GrantImplicit, k).Inc()
	}
}
