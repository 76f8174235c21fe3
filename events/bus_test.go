package events_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"oauth2-server.dev/events"
	"oauth2-server.dev/events/memsink"
	"oauth2-server.dev/ports"
)

func noBackoff(int) time.Duration { return 0 }

func published(t *testing.T, reg *prometheus.Registry, sink, outcome string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "oauth2_events_published_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["sink"] == sink && labels["outcome"] == outcome {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	t.Fatalf("no series oauth2_events_published_total{sink=%q,outcome=%q}", sink, outcome)
	return 0
}

func TestBusDeliversToEverySinkInOrder(t *testing.T) {
	a, b := memsink.New("a"), memsink.New("b")
	bus, err := events.NewBus(events.BusConfig{Logger: testLogger(t), Sinks: []events.Sink{a, b}, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	want := newEvents("ordered", 250)
	for _, e := range want {
		if err := bus.Publish(t.Context(), e); err != nil {
			t.Fatalf("Publish(%s): %v", e.ID, err)
		}
	}
	for _, s := range []*memsink.Sink{a, b} {
		got, err := s.Wait(waitCtx(t), len(want))
		if err != nil {
			t.Fatalf("sink %s got %d of %d events: %v", s.Name(), len(got), len(want), err)
		}
		if !slices.Equal(ids(got), ids(want)) {
			t.Errorf("sink %s got events out of order: %v", s.Name(), ids(got))
		}
	}
	if err := bus.Close(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestBusRetries(t *testing.T) {
	tests := []struct {
		name         string
		failures     int
		maxAttempts  int
		wantSent     int
		wantFailures int
		wantDropped  int
	}{
		{name: "transient failure is retried until the sink takes the batch", failures: 2, maxAttempts: 5, wantSent: 3, wantFailures: 2},
		{name: "persistent failure drops the batch after the last attempt", failures: 10, maxAttempts: 3, wantSent: 0, wantFailures: 9, wantDropped: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			sink := memsink.New("flaky")
			sink.FailNext(tt.failures, errors.New("connection refused"))
			bus, err := events.NewBus(events.BusConfig{
				Logger:      testLogger(t),
				Sinks:       []events.Sink{sink},
				BatchSize:   1, // batches would depend on how fast the worker runs
				MaxAttempts: tt.maxAttempts,
				Backoff:     noBackoff,
				Registerer:  reg,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := bus.Publish(t.Context(), newEvents("retry", 3)...); err != nil {
				t.Fatal(err)
			}
			// Close waits for the worker to finish with the batch, so the
			// counters are final afterwards.
			if err := bus.Close(waitCtx(t)); err != nil {
				t.Fatal(err)
			}
			if got := len(sink.Events()); got != tt.wantSent {
				t.Errorf("sink recorded %d events, want %d", got, tt.wantSent)
			}
			for outcome, want := range map[string]int{
				events.OutcomeSuccess: tt.wantSent,
				events.OutcomeFailure: tt.wantFailures,
				events.OutcomeDropped: tt.wantDropped,
			} {
				if got := published(t, reg, "flaky", outcome); got != want {
					t.Errorf("outcome %s counted %d, want %d", outcome, got, want)
				}
			}
		})
	}
}

func TestBusIsolatesSinks(t *testing.T) {
	t.Run("a hung sink neither blocks Publish nor delays the other sinks", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		hung := newBlockingSink("hung")
		healthy := memsink.New("healthy")
		bus, err := events.NewBus(events.BusConfig{
			Logger:      testLogger(t),
			Sinks:       []events.Sink{hung, healthy},
			SendTimeout: time.Hour, // hung means hung: no timeout turns it into retries
			Buffer:      4,
			BatchSize:   2,
			Registerer:  reg,
		})
		if err != nil {
			t.Fatal(err)
		}
		const n = 40
		var full int
		for i, e := range newEvents("isolated", n) {
			err := bus.Publish(t.Context(), e)
			switch {
			case errors.Is(err, events.ErrBufferFull):
				full++
			case err != nil:
				t.Fatal(err)
			}
			// Each event reaches the healthy sink while the hung one
			// holds its batch and its buffer overflows.
			if got, err := healthy.Wait(waitCtx(t), i+1); err != nil {
				t.Fatalf("healthy sink got %d of %d events while the other hung: %v", len(got), i+1, err)
			}
		}
		if full == 0 {
			t.Error("Publish never reported the hung sink's full buffer")
		}

		close(hung.release)
		if err := bus.Close(waitCtx(t)); err != nil {
			t.Fatal(err)
		}
		sent, dropped := published(t, reg, "hung", events.OutcomeSuccess), published(t, reg, "hung", events.OutcomeDropped)
		if dropped != full {
			t.Errorf("dropped %d events, but Publish reported %d full buffers", dropped, full)
		}
		if sent != hung.Sent() || sent+dropped != n {
			t.Errorf("hung sink: %d sent (sink saw %d) + %d dropped, want %d in all", sent, hung.Sent(), dropped, n)
		}
		if got := published(t, reg, "healthy", events.OutcomeDropped); got != 0 {
			t.Errorf("healthy sink dropped %d events", got)
		}
	})
}

func TestBusPublishRefuses(t *testing.T) {
	valid := newEvents("valid", 1)[0]
	tests := []struct {
		name    string
		close   bool
		events  []ports.Event
		wantErr error
	}{
		{name: "an event without id", events: []ports.Event{valid, {Type: ports.EventTokenIssued}}, wantErr: ports.ErrInvalidEvent},
		{name: "an event without type", events: []ports.Event{valid, {ID: "x"}}, wantErr: ports.ErrInvalidEvent},
		{name: "anything after Close", close: true, events: []ports.Event{valid}, wantErr: events.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := memsink.New("mem")
			bus, err := events.NewBus(events.BusConfig{Logger: testLogger(t), Sinks: []events.Sink{sink}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.close {
				if err := bus.Close(waitCtx(t)); err != nil {
					t.Fatal(err)
				}
			}
			if err := bus.Publish(t.Context(), tt.events...); !errors.Is(err, tt.wantErr) {
				t.Errorf("Publish = %v, want %v", err, tt.wantErr)
			}
			if err := bus.Close(waitCtx(t)); err != nil {
				t.Fatal(err)
			}
			if got := sink.Events(); len(got) != 0 {
				t.Errorf("a refused batch reached the sink: %v", ids(got))
			}
		})
	}
}

func TestBusCloseGivesUpWhenContextEnds(t *testing.T) {
	reg := prometheus.NewRegistry()
	hung := newBlockingSink("hung")
	bus, err := events.NewBus(events.BusConfig{Logger: testLogger(t), Sinks: []events.Sink{hung}, Registerer: reg, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(t.Context(), newEvents("stuck", 3)...); err != nil {
		t.Fatal(err)
	}
	<-hung.entered // the first batch is in flight
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := bus.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	if got := published(t, reg, "hung", events.OutcomeDropped); got != 3 {
		t.Errorf("dropped %d events, want all 3", got)
	}
}

func TestBusOwnsPublishedData(t *testing.T) {
	sink := memsink.New("mem")
	bus, err := events.NewBus(events.BusConfig{Logger: testLogger(t), Sinks: []events.Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	e := newEvents("owned", 1)[0]
	if err := bus.Publish(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	e.Data["seq"] = "changed after Publish"
	got, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Data["seq"] != "0" {
		t.Errorf("the sink saw the caller's later change: %q", got[0].Data["seq"])
	}
	if err := bus.Close(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsSharedBetweenBusAndRelay(t *testing.T) {
	reg := prometheus.NewRegistry()
	sink := memsink.New("mem")
	bus, err := events.NewBus(events.BusConfig{Logger: testLogger(t), Sinks: []events.Sink{sink}, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close(waitCtx(t))
	if _, err := events.NewRelay(events.RelayConfig{Logger: testLogger(t), Outbox: newOutbox(t), Sinks: []events.Sink{sink}, Registerer: reg}); err != nil {
		t.Fatalf("a relay on the bus's registerer: %v", err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(reg, "oauth2_events_published_total"); n != 3 {
		t.Errorf("%d series, want one per outcome of the one sink", n)
	}
}

func TestNewBusRefusesAmbiguousSinks(t *testing.T) {
	tests := []struct {
		name  string
		sinks []events.Sink
	}{
		{name: "no sink"},
		{name: "two sinks with one name", sinks: []events.Sink{memsink.New("x"), memsink.New("x")}},
		{name: "a sink without a name", sinks: []events.Sink{memsink.New("")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := events.NewBus(events.BusConfig{Logger: testLogger(t), Sinks: tt.sinks}); err == nil {
				t.Error("NewBus accepted it")
			}
			if _, err := events.NewRelay(events.RelayConfig{Logger: testLogger(t), Outbox: newOutbox(t), Sinks: tt.sinks}); err == nil {
				t.Error("NewRelay accepted it")
			}
		})
	}
}
