package cibanotify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"oauth2-server.dev/events/webhook"
	"oauth2-server.dev/ports"
)

// Log writes every notice as a log line.
type Log struct{ log *slog.Logger }

var _ ports.CIBANotifier = (*Log)(nil)

// NewLog returns a notifier that logs to log.
func NewLog(log *slog.Logger) *Log { return &Log{log: log} }

// NotifyCIBA logs the notice at Info level. The decision URL is the one
// value a reader needs to act; it opens the decision page, which only the
// named user, signed in, can answer.
func (n *Log) NotifyCIBA(ctx context.Context, notice ports.CIBANotice) error {
	n.log.InfoContext(ctx, "ciba: a sign-in request awaits the user's decision",
		"notice_id", notice.ID, "tenant", notice.Tenant, "user_id", notice.UserID,
		"client_id", notice.ClientID, "scope", notice.Scope, "binding_message", notice.BindingMessage,
		"decision_url", notice.DecisionURL, "expires_at", notice.ExpiresAt.Format(time.RFC3339))
	return nil
}

// Payload is the JSON body of a webhook notice; its field names are part
// of the public contract.
type Payload struct {
	// ID is the same on every delivery attempt of a notice: receivers drop
	// repeats by it.
	ID             string    `json:"id"`
	Tenant         string    `json:"tenant,omitempty"`
	UserID         string    `json:"user_id"`
	Username       string    `json:"username"`
	ClientID       string    `json:"client_id"`
	ClientName     string    `json:"client_name"`
	Scope          string    `json:"scope"`
	BindingMessage string    `json:"binding_message,omitempty"`
	DecisionURL    string    `json:"decision_url"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL receives the notices.
	URL string
	// Secret keys the HMAC-SHA256 signature; at least
	// webhook.MinSecretLen bytes.
	Secret []byte
	// Client sends the requests: the server's outbound client, with its
	// per-host circuit breaker. Default: a client with a 5 s timeout.
	Client *http.Client
	// Clock stamps signatures (default ports.SystemClock).
	Clock ports.Clock
	// Attempts bounds the deliveries of one notice (default 4); Backoff
	// is the first pause between two, doubled after each (default 500 ms).
	Attempts int
	Backoff  time.Duration
	// Shutdown is closed when the server begins to shut down: a notice
	// that fails from then on is not retried, so that its pauses do not
	// hold the shutdown. Nil: never.
	Shutdown <-chan struct{}
}

// Webhook POSTs every notice as JSON, signed as the event webhook signs
// its batches: the webhook.SignatureHeader carries t=<unix seconds>,
// v1=<hex HMAC-SHA256 of "<t>.<body>">, so receivers verify it with
// webhook.Verify.
type Webhook struct{ cfg WebhookConfig }

var _ ports.CIBANotifier = (*Webhook)(nil)

// NewWebhook checks cfg and returns a notifier.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("cibanotify: webhook URL must be an absolute http or https URL")
	}
	if len(cfg.Secret) < webhook.MinSecretLen {
		return nil, fmt.Errorf("cibanotify: webhook secret shorter than %d bytes", webhook.MinSecretLen)
	}
	cfg.Secret = bytes.Clone(cfg.Secret)
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 4
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	return &Webhook{cfg: cfg}, nil
}

// errPermanent marks an answer that a retry would not change.
type errPermanent struct{ error }

// NotifyCIBA POSTs the notice until the receiver answers 2xx, retrying
// network errors, 5xx, 408 and 429 with doubling pauses, until the
// attempts are spent, ctx ends or the server shuts down. Every attempt is
// signed afresh, so a late retry is not refused as stale.
func (w *Webhook) NotifyCIBA(ctx context.Context, n ports.CIBANotice) error {
	body, err := json.Marshal(Payload{
		ID: n.ID, Tenant: n.Tenant, UserID: n.UserID, Username: n.Username, ClientID: n.ClientID,
		ClientName: n.ClientName, Scope: n.Scope, BindingMessage: n.BindingMessage,
		DecisionURL: n.DecisionURL, ExpiresAt: n.ExpiresAt.UTC(),
	})
	if err != nil {
		return fmt.Errorf("cibanotify: encode notice: %w", err)
	}
	pause := w.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err = w.post(ctx, body)
		var perm errPermanent
		if err == nil || errors.As(err, &perm) || attempt >= w.cfg.Attempts {
			return err
		}
		if !wait(ctx, w.cfg.Shutdown, pause) {
			return fmt.Errorf("cibanotify: gave up after %d attempts: %w", attempt, err)
		}
		pause *= 2
	}
}

// wait pauses for d and reports whether it did: it returns false at once
// when ctx ends or shutdown closes first.
func wait(ctx context.Context, shutdown <-chan struct{}, d time.Duration) bool {
	select {
	case <-shutdown:
		return false
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-shutdown:
		return false
	case <-t.C:
		return true
	}
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return errPermanent{fmt.Errorf("cibanotify: build request: %w", err)}
	}
	status, err := webhook.Do(w.cfg.Client, req, w.cfg.Secret, body, w.cfg.Clock.Now())
	if err != nil {
		return fmt.Errorf("cibanotify: post: %w", err)
	}
	switch {
	case status >= 200 && status <= 299:
		return nil
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return fmt.Errorf("cibanotify: receiver answered %d", status)
	default:
		return errPermanent{fmt.Errorf("cibanotify: receiver refused the notice with %d", status)}
	}
}
