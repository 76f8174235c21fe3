package cibanotify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/events/webhook"
	"oauth2-server.dev/ports"
)

var testNotice = ports.CIBANotice{
	ID: "notice-1", Tenant: "default", UserID: "user-1", Username: "alice", ClientID: "kiosk", ClientName: "Kiosk",
	Scope: "openid profile", BindingMessage: "W4SCT", DecisionURL: "https://id.example.com/ciba?id=abc",
	ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
}

func TestLogWritesOneLineWithTheDecisionURL(t *testing.T) {
	var buf bytes.Buffer
	n := NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	if err := n.NotifyCIBA(context.Background(), testNotice); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1: %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"level": "INFO", "notice_id": "notice-1", "user_id": "user-1", "client_id": "kiosk",
		"decision_url": testNotice.DecisionURL, "binding_message": "W4SCT", "expires_at": "2030-01-02T03:04:05Z",
	} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %q", k, rec[k], want)
		}
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// receiver answers the statuses given, one per request, then 204.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	sigs     []string
	seen     chan struct{} // told of every request when set
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bodies = append(rc.bodies, b)
	rc.sigs = append(rc.sigs, r.Header.Get(webhook.SignatureHeader))
	if rc.seen != nil {
		rc.seen <- struct{}{}
	}
	if r.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	if len(rc.statuses) > 0 {
		st := rc.statuses[0]
		rc.statuses = rc.statuses[1:]
		w.WriteHeader(st)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestWebhookDelivery(t *testing.T) {
	secret := []byte("ciba-webhook-secret-0123")
	now := time.Now().Truncate(time.Second)
	tests := []struct {
		name      string
		statuses  []int
		wantCalls int
		wantErr   string // part of the error; "" for success
	}{
		{name: "a receiver that answers at once gets one signed notice", wantCalls: 1},
		{name: "a receiver that is briefly down gets the notice on a retry", statuses: []int{503, 502}, wantCalls: 3},
		{name: "a receiver that is rate limited gets the notice on a retry", statuses: []int{429}, wantCalls: 2},
		{name: "a receiver that refuses the notice is not asked again", statuses: []int{400}, wantCalls: 1, wantErr: "refused the notice with 400"},
		{name: "a receiver that stays down is given up on after the last attempt", statuses: []int{500, 500, 500, 500, 500}, wantCalls: 4, wantErr: "answered 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{statuses: tt.statuses}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/notices", Secret: secret, Client: srv.Client(), Clock: fixedClock{now}, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			err = w.NotifyCIBA(context.Background(), testNotice)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("NotifyCIBA = %v, want error %q", err, tt.wantErr)
			}
			if len(rc.bodies) != tt.wantCalls {
				t.Fatalf("%d requests, want %d", len(rc.bodies), tt.wantCalls)
			}
			for i, b := range rc.bodies {
				if err := webhook.Verify(secret, rc.sigs[i], b, now, webhook.DefaultTolerance); err != nil {
					t.Fatalf("request %d: signature: %v", i, err)
				}
				if err := webhook.Verify([]byte("another-secret-0123456"), rc.sigs[i], b, now, webhook.DefaultTolerance); err == nil {
					t.Fatalf("request %d verifies under another secret", i)
				}
				var p Payload
				if err := json.Unmarshal(b, &p); err != nil {
					t.Fatal(err)
				}
				want := Payload{ID: "notice-1", Tenant: "default", UserID: "user-1", Username: "alice", ClientID: "kiosk",
					ClientName: "Kiosk", Scope: "openid profile", BindingMessage: "W4SCT",
					DecisionURL: testNotice.DecisionURL, ExpiresAt: testNotice.ExpiresAt}
				if p != want {
					t.Fatalf("request %d: payload %+v, want %+v", i, p, want)
				}
			}
		})
	}
	// Pauses of an hour: a delivery that returns has stopped waiting.
	stops := []struct {
		name string
		stop func(cancel context.CancelFunc, shutdown chan struct{})
	}{
		{"a cancelled delivery stops retrying", func(cancel context.CancelFunc, _ chan struct{}) { cancel() }},
		{"a delivery stops retrying when the server shuts down", func(_ context.CancelFunc, shutdown chan struct{}) { close(shutdown) }},
	}
	for _, tt := range stops {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{statuses: []int{503, 503, 503, 503}, seen: make(chan struct{}, 4)}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			shutdown := make(chan struct{})
			w, _ := NewWebhook(WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client(), Backoff: time.Hour, Shutdown: shutdown})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- w.NotifyCIBA(ctx, testNotice) }()
			<-rc.seen
			tt.stop(cancel, shutdown)
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "gave up after 1 attempts") {
					t.Fatalf("NotifyCIBA = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("NotifyCIBA still waiting to retry 10 s after it was stopped")
			}
		})
	}
}

func TestNewWebhookRefusesBadSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  WebhookConfig
	}{
		{"relative URL", WebhookConfig{URL: "/notices", Secret: []byte("ciba-webhook-secret-0123")}},
		{"URL of another scheme", WebhookConfig{URL: "ftp://push.example/", Secret: []byte("ciba-webhook-secret-0123")}},
		{"short secret", WebhookConfig{URL: "https://push.example/", Secret: []byte("short")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWebhook(tt.cfg); err == nil {
				t.Fatal("NewWebhook accepted it")
			}
		})
	}
}
