package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// testTimeout bounds every wait on a condition; tests never sleep.
const testTimeout = 20 * time.Second

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// fakeClock is a ports.Clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newEvents returns n valid events with ids <prefix>-000, <prefix>-001, ...
func newEvents(prefix string, n int) []ports.Event {
	out := make([]ports.Event, n)
	for i := range out {
		out[i] = ports.Event{
			ID:       fmt.Sprintf("%s-%03d", prefix, i),
			Time:     time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC),
			Type:     ports.EventTypes[i%len(ports.EventTypes)],
			Tenant:   ports.DefaultTenant,
			Subject:  "user-1",
			ClientID: "client-1",
			Data:     map[string]string{"seq": fmt.Sprint(i)},
		}
	}
	return out
}

func ids(events []ports.Event) []string {
	out := make([]string, len(events))
	for i := range events {
		out[i] = events[i].ID
	}
	return out
}

// blockingSink holds every Send until release is closed or the send's
// context ends, standing in for a sink that hangs.
type blockingSink struct {
	name    string
	release chan struct{}
	entered chan struct{} // receives once per Send that starts waiting

	mu   sync.Mutex
	sent []ports.Event
}

func newBlockingSink(name string) *blockingSink {
	return &blockingSink{name: name, release: make(chan struct{}), entered: make(chan struct{}, 1000)}
}

func (s *blockingSink) Name() string { return s.name }

func (s *blockingSink) Send(ctx context.Context, batch []ports.Event) error {
	s.entered <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, batch...)
	return nil
}

func (s *blockingSink) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// testLogger keeps the log of what the code under test did with the test,
// shown when it fails or under -v.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
