package app

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/server/internal/cibanotify"
)

// cibaNotifier builds the configured way to reach users' authentication
// devices; nil when CIBA is off (OAUTH2_CIBA_NOTIFIER=none). A webhook
// makes no further retry once shutdown is closed.
func cibaNotifier(cfg *config.Config, outbound *http.Client, shutdown <-chan struct{}, log *slog.Logger) (ports.CIBANotifier, error) {
	switch cfg.CIBA.Notifier {
	case "log":
		return cibanotify.NewLog(log.With("component", "ciba")), nil
	case "webhook":
		return cibanotify.NewWebhook(cibanotify.WebhookConfig{
			URL: cfg.CIBA.WebhookURL, Secret: []byte(cfg.CIBA.WebhookSecret), Client: outbound, Shutdown: shutdown,
		})
	}
	return nil, nil
}

// cibaDeliveries counts, and logs when they fail, the deliveries of CIBA:
// notices to authentication devices and pings to clients.
type cibaDeliveries struct {
	total *prometheus.CounterVec
	log   *slog.Logger
}

func newCIBADeliveries(reg prometheus.Registerer, log *slog.Logger) (*cibaDeliveries, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oauth2_ciba_deliveries_total",
		Help: "CIBA deliveries after their retries, by kind (device: a notice to the user's authentication device, ping: a ping to the client) and outcome.",
	}, []string{"kind", "outcome"})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	for _, kind := range []string{core.CIBADeliveryDevice, core.CIBADeliveryPing} {
		for _, outcome := range []string{"success", "failure"} {
			c.WithLabelValues(kind, outcome)
		}
	}
	return &cibaDeliveries{total: c, log: log}, nil
}

func (d *cibaDeliveries) record(kind string, err error) {
	if err != nil {
		d.total.WithLabelValues(kind, "failure").Inc()
		d.log.Warn("ciba delivery failed", "kind", kind, "error", err)
		return
	}
	d.total.WithLabelValues(kind, "success").Inc()
}
