package events_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/events"
	"oauth2-server.dev/events/memoutbox"
	"oauth2-server.dev/events/memsink"
	"oauth2-server.dev/ports"
)

func newOutbox(t *testing.T, evs ...ports.Event) *memoutbox.Outbox {
	t.Helper()
	o := memoutbox.New()
	if err := o.Append(evs...); err != nil {
		t.Fatal(err)
	}
	return o
}

// drain runs the relay until a round claims nothing, failing the test on
// any error or if the outbox never runs dry.
func drain(t *testing.T, r *events.Relay) {
	t.Helper()
	for range 1000 {
		n, err := r.RunOnce(t.Context())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the relay never drained the outbox")
}

// flakyAckOutbox fails AckEvents while failAck is set.
type flakyAckOutbox struct {
	*memoutbox.Outbox
	mu      sync.Mutex
	failAck bool
}

func (o *flakyAckOutbox) AckEvents(ctx context.Context, ids []string) error {
	o.mu.Lock()
	fail := o.failAck
	o.mu.Unlock()
	if fail {
		return errors.New("outbox unavailable")
	}
	return o.Outbox.AckEvents(ctx, ids)
}

func TestRelay(t *testing.T) {
	const lease = time.Minute
	tests := []struct {
		name string
		// run drives the relay and returns what each sink must finally
		// hold, in order.
		run func(t *testing.T, clock *fakeClock, outbox *flakyAckOutbox, relay *events.Relay, a, b *memsink.Sink)
	}{
		{
			name: "delivers in outbox order and acknowledges",
			run: func(t *testing.T, _ *fakeClock, _ *flakyAckOutbox, relay *events.Relay, _, _ *memsink.Sink) {
				drain(t, relay)
			},
		},
		{
			name: "a failed sink leaves the batch in the outbox until the lease ends",
			run: func(t *testing.T, clock *fakeClock, outbox *flakyAckOutbox, relay *events.Relay, _, b *memsink.Sink) {
				b.SetError(errors.New("connection reset"))
				for range 3 { // 10 events in batches of 4: every batch fails
					if _, err := relay.RunOnce(t.Context()); err == nil {
						t.Fatal("RunOnce succeeded with a failing sink")
					}
				}
				if outbox.Len() != 10 {
					t.Fatalf("outbox holds %d events after failures, want all 10", outbox.Len())
				}
				b.SetError(nil)
				if n, err := relay.RunOnce(t.Context()); n != 0 || err != nil {
					t.Fatalf("RunOnce under lease = %d, %v; want nothing claimed", n, err)
				}
				clock.Advance(lease)
				drain(t, relay)
			},
		},
		{
			name: "a sink that took a batch is not sent it again when another sink failed",
			run: func(t *testing.T, clock *fakeClock, _ *flakyAckOutbox, relay *events.Relay, a, b *memsink.Sink) {
				b.FailNext(1, errors.New("timeout"))
				if _, err := relay.RunOnce(t.Context()); err == nil {
					t.Fatal("RunOnce succeeded with a failing sink")
				}
				clock.Advance(lease)
				drain(t, relay)
				if a.Calls() != 3 {
					t.Errorf("sink a was called %d times, want once per batch", a.Calls())
				}
			},
		},
		{
			name: "a failed ack sends nothing twice to the sinks that took it",
			run: func(t *testing.T, clock *fakeClock, outbox *flakyAckOutbox, relay *events.Relay, a, _ *memsink.Sink) {
				outbox.failAck = true
				if _, err := relay.RunOnce(t.Context()); err == nil {
					t.Fatal("RunOnce succeeded although the ack failed")
				}
				outbox.failAck = false
				clock.Advance(lease)
				drain(t, relay)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := newEvents("relay", 10)
			clock := newFakeClock()
			outbox := &flakyAckOutbox{Outbox: newOutbox(t, want...)}
			a, b := memsink.New("a"), memsink.New("b")
			relay, err := events.NewRelay(events.RelayConfig{
				Logger:    testLogger(t),
				Outbox:    outbox,
				Sinks:     []events.Sink{a, b},
				BatchSize: 4,
				Lease:     lease,
				Clock:     clock,
			})
			if err != nil {
				t.Fatal(err)
			}
			tt.run(t, clock, outbox, relay, a, b)
			if outbox.Len() != 0 {
				t.Errorf("%d events left unacknowledged", outbox.Len())
			}
			for _, s := range []*memsink.Sink{a, b} {
				if got := ids(s.Events()); !slices.Equal(got, ids(want)) {
					t.Errorf("sink %s got %v, want each event once in order %v", s.Name(), got, ids(want))
				}
			}
		})
	}
}

func TestRelaysSharingAnOutboxSendEachBatchOnce(t *testing.T) {
	want := newEvents("shared", 12)
	outbox := newOutbox(t, want...)
	clock := newFakeClock()
	sink := memsink.New("mem")
	var relays []*events.Relay
	for range 2 {
		r, err := events.NewRelay(events.RelayConfig{Logger: testLogger(t), Outbox: outbox, Sinks: []events.Sink{sink}, BatchSize: 3, Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		relays = append(relays, r)
	}
	// Both relays claim before either acknowledges, as replicas would.
	var wg sync.WaitGroup
	for _, r := range relays {
		wg.Go(func() {
			for {
				n, err := r.RunOnce(t.Context())
				if err != nil {
					t.Error(err)
				}
				if n == 0 || err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	got := ids(sink.Events())
	slices.Sort(got)
	if !slices.Equal(got, ids(want)) {
		t.Errorf("sink got %v, want every event exactly once", got)
	}
}

func TestRelayRunWakesOnNotify(t *testing.T) {
	outbox := newOutbox(t)
	sink := memsink.New("mem")
	relay, err := events.NewRelay(events.RelayConfig{
		Logger:       testLogger(t),
		Outbox:       outbox,
		Sinks:        []events.Sink{sink},
		PollInterval: time.Hour, // only Notify can make it look again in time
		Registerer:   prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()

	total := 0
	for round, batch := range [][]ports.Event{newEvents("first", 3), newEvents("second", 2)} {
		if err := outbox.Append(batch...); err != nil {
			t.Fatal(err)
		}
		relay.Notify()
		total += len(batch)
		if got, err := sink.Wait(waitCtx(t), total); err != nil {
			t.Fatalf("round %d: sink got %v: %v", round, ids(got), err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-waitCtx(t).Done():
		t.Fatal("Run did not return after its context ended")
	}
}

// claimWatchOutbox counts the events ClaimEvents hands out and reports
// the end of the first claim.
type claimWatchOutbox struct {
	*memoutbox.Outbox
	claimed    atomic.Int64
	firstClaim chan struct{}
	once       sync.Once
}

func (o *claimWatchOutbox) ClaimEvents(ctx context.Context, limit int, lease time.Duration, now time.Time) ([]ports.Event, error) {
	evs, err := o.Outbox.ClaimEvents(ctx, limit, lease, now)
	o.claimed.Add(int64(len(evs)))
	o.once.Do(func() { close(o.firstClaim) })
	return evs, err
}

func TestRelayDeliversHandedEventsWithoutClaiming(t *testing.T) {
	tests := []struct {
		name string
		// failFirst makes the sink refuse the first send.
		failFirst bool
	}{
		{name: "handed events are sent and acknowledged, unclaimed"},
		{name: "a handed batch the sink refused stays in the outbox and is claimed after a backoff", failFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outbox := &claimWatchOutbox{Outbox: newOutbox(t), firstClaim: make(chan struct{})}
			sink := memsink.New("mem")
			if tt.failFirst {
				sink.FailNext(1, errors.New("connection reset"))
			}
			relay, err := events.NewRelay(events.RelayConfig{
				Logger: testLogger(t),
				Outbox: outbox,
				Sinks:  []events.Sink{sink},
				// Once the first round has found the outbox empty, nothing
				// but Hand, or the backoff after a failure, makes it look
				// again.
				PollInterval: time.Hour,
				Backoff:      func(int) time.Duration { return time.Millisecond },
				Registerer:   prometheus.NewRegistry(),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { _ = relay.Run(ctx) }()
			<-outbox.firstClaim

			// The events are committed to the outbox (leased to this
			// process, in a store that leases on append), then handed over.
			batch := newEvents("handed", 3)
			if err := outbox.Append(batch...); err != nil {
				t.Fatal(err)
			}
			relay.Hand(batch)
			if got, err := sink.Wait(waitCtx(t), len(batch)); err != nil || !slices.Equal(ids(got), ids(batch)) {
				t.Fatalf("sink got %v (%v), want %v", ids(got), err, ids(batch))
			}
			deadline := waitCtx(t)
			for outbox.Len() != 0 {
				select {
				case <-deadline.Done():
					t.Fatalf("%d delivered events were never acknowledged", outbox.Len())
				case <-time.After(5 * time.Millisecond):
				}
			}
			claimed := outbox.claimed.Load()
			if !tt.failFirst && claimed != 0 {
				t.Errorf("%d handed events were claimed as well", claimed)
			}
			if tt.failFirst && claimed != int64(len(batch)) {
				t.Errorf("claims took %d events after the failed handed batch, want its %d", claimed, len(batch))
			}
		})
	}
}
