package webhook_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/events/webhook"
	"oauth2-server.dev/ports"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// receiver is a webhook endpoint that checks every request the way a real
// receiver would and records the batches it accepted.
type receiver struct {
	status int
	hang   chan struct{} // when set, requests wait until it is closed

	mu       sync.Mutex
	accepted [][]ports.Event
	refused  []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rc.hang != nil {
		<-rc.hang
		return
	}
	body, _ := io.ReadAll(r.Body)
	err := webhook.Verify(secret, r.Header.Get(webhook.SignatureHeader), body, t0, webhook.DefaultTolerance)
	var batch webhook.Batch
	if err == nil && r.Header.Get("Content-Type") != "application/json" {
		err = errors.New("content type " + r.Header.Get("Content-Type"))
	}
	if err == nil {
		err = json.Unmarshal(body, &batch)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.refused = append(rc.refused, err)
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	rc.accepted = append(rc.accepted, batch.Events)
	if rc.status != 0 {
		w.WriteHeader(rc.status)
	}
}

func TestSend(t *testing.T) {
	evs := []ports.Event{
		{ID: "a", Type: ports.EventClientRegistered, Time: t0, ClientID: "c1"},
		{ID: "b", Type: ports.EventClientDeleted, Time: t0, ClientID: "c1"},
	}
	tests := []struct {
		name     string
		receiver *receiver
		secret   []byte
		timeout  time.Duration
		wantErr  string
		wantSeen bool // the receiver accepted the signature and the body
	}{
		{name: "signed batch is accepted", receiver: &receiver{}, secret: secret, wantSeen: true},
		{name: "a receiver error is a failure", receiver: &receiver{status: http.StatusServiceUnavailable}, secret: secret, wantErr: "answered 503", wantSeen: true},
		{name: "a redirect is a failure", receiver: &receiver{status: http.StatusNotModified}, secret: secret, wantErr: "answered 304", wantSeen: true},
		{name: "a wrong secret is refused by the receiver", receiver: &receiver{}, secret: []byte("another secret of sixteen+ bytes"), wantErr: "answered 401"},
		{name: "a hung receiver times out", receiver: &receiver{hang: make(chan struct{})}, secret: secret, timeout: 50 * time.Millisecond, wantErr: "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.receiver)
			defer srv.Close()
			if tt.receiver.hang != nil {
				defer close(tt.receiver.hang) // before srv.Close, which waits for handlers
			}
			sink, err := webhook.New(webhook.Config{
				URL:     srv.URL + "/hook?token=must-not-leak",
				Secret:  tt.secret,
				Timeout: tt.timeout,
				Clock:   fixedClock(t0),
			})
			if err != nil {
				t.Fatal(err)
			}
			err = sink.Send(t.Context(), evs)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Send = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Send = %v, want an error containing %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "must-not-leak"):
				t.Errorf("the error shows the URL's query: %v", err)
			}
			tt.receiver.mu.Lock()
			defer tt.receiver.mu.Unlock()
			if tt.wantSeen != (len(tt.receiver.accepted) == 1) {
				t.Fatalf("receiver accepted %d batches (refused: %v), want seen=%v", len(tt.receiver.accepted), tt.receiver.refused, tt.wantSeen)
			}
			if tt.wantSeen {
				got := tt.receiver.accepted[0]
				if !slices.EqualFunc(got, evs, func(a, b ports.Event) bool { return a.ID == b.ID && a.Type == b.Type && a.Time.Equal(b.Time) }) {
					t.Errorf("receiver got %+v, want %+v", got, evs)
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"events":[]}`)
	good := webhook.Sign(secret, body, t0)
	tests := []struct {
		name    string
		secret  []byte
		header  string
		body    []byte
		now     time.Time
		wantErr error
	}{
		{name: "a fresh signature over the body passes", header: good, body: body, now: t0.Add(time.Minute)},
		{name: "a changed body fails", header: good, body: []byte(`{"events":[{}]}`), now: t0, wantErr: webhook.ErrBadSignature},
		{name: "another secret fails", secret: []byte("another secret of sixteen+ bytes"), header: good, body: body, now: t0, wantErr: webhook.ErrBadSignature},
		{name: "a moved timestamp fails", header: strings.Replace(good, fmt.Sprint(t0.Unix()), fmt.Sprint(t0.Unix()+1), 1), body: body, now: t0, wantErr: webhook.ErrBadSignature},
		{name: "a replay after the tolerance fails", header: good, body: body, now: t0.Add(webhook.DefaultTolerance + time.Second), wantErr: webhook.ErrStaleSignature},
		{name: "a timestamp from the future fails", header: good, body: body, now: t0.Add(-webhook.DefaultTolerance - time.Second), wantErr: webhook.ErrStaleSignature},
		{name: "a header without MAC fails", header: fmt.Sprintf("t=%d", t0.Unix()), body: body, now: t0, wantErr: webhook.ErrBadSignature},
		{name: "an empty header fails", header: "", body: body, now: t0, wantErr: webhook.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := secret
			if tt.secret != nil {
				key = tt.secret
			}
			err := webhook.Verify(key, tt.header, tt.body, tt.now, webhook.DefaultTolerance)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  webhook.Config
	}{
		{name: "a relative URL", cfg: webhook.Config{URL: "/hook", Secret: secret}},
		{name: "a non-HTTP URL", cfg: webhook.Config{URL: "ftp://example.com/hook", Secret: secret}},
		{name: "a short secret", cfg: webhook.Config{URL: "https://example.com/hook", Secret: []byte("short")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := webhook.New(tt.cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func ExampleNew() {
	sink, err := webhook.New(webhook.Config{
		URL:     "https://hooks.example.com/oauth2-events",
		Secret:  secret, // 32 random bytes shared with the receiver
		Timeout: 5 * time.Second,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(sink.Name())
	// Output: webhook
}

func ExampleVerify() {
	// What a receiver does with a request: check the signature on the raw
	// body before decoding it, then deduplicate events by id.
	body := []byte(`{"events":[{"id":"e1","time":"2026-03-01T12:00:00Z","type":"token.revoked"}]}`)
	header := webhook.Sign(secret, body, t0) // set by the sink

	if err := webhook.Verify(secret, header, body, t0.Add(time.Second), webhook.DefaultTolerance); err != nil {
		fmt.Println("refuse:", err)
		return
	}
	var batch webhook.Batch
	_ = json.Unmarshal(body, &batch)
	fmt.Println(batch.Events[0].ID, batch.Events[0].Type)
	// Output: e1 token.revoked
}
