package app

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// logoutDeliveries counts the back-channel logout tokens sent to relying
// parties, after their retries, and logs the ones that did not arrive.
type logoutDeliveries struct {
	success, failure prometheus.Counter
	log              *slog.Logger
}

func newLogoutDeliveries(reg prometheus.Registerer, log *slog.Logger) (*logoutDeliveries, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oauth2_backchannel_logout_deliveries_total",
		Help: "Back-channel logout tokens for relying parties, after their retries, by outcome (failure also counts tokens that could not be made).",
	}, []string{"outcome"})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return &logoutDeliveries{success: c.WithLabelValues("success"), failure: c.WithLabelValues("failure"), log: log}, nil
}

// record is core.Deps.OnLogoutDelivery; uri is "" when the token could
// not be made or the relying parties not found.
func (d *logoutDeliveries) record(uri string, err error) {
	if err == nil {
		d.success.Inc()
		return
	}
	d.failure.Inc()
	if uri == "" {
		d.log.Warn("back-channel logout not sent", "error", err)
		return
	}
	d.log.Warn("back-channel logout delivery failed", "uri", uri, "error", err)
}
