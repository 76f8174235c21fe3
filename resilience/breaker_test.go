package resilience

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"oauth2-server.dev/ports"
)

// storeMethodNames lists ports.Store's methods that take a context, the
// calls that reach the database, sorted. The others, Close and the
// EventStore settings, have tests of their own.
func storeMethodNames() []string {
	typ := reflect.TypeFor[ports.Store]()
	ctxType := reflect.TypeFor[context.Context]()
	var names []string
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if m.Type.NumIn() > 0 && m.Type.In(0) == ctxType {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	return names
}

func TestBreaker(t *testing.T) {
	fail := func(context.Context) error { return errDown }
	ok := func(context.Context) error { return nil }

	t.Run("opens after the configured consecutive failures", func(t *testing.T) {
		tests := []struct {
			name     string
			failures uint32
			calls    int
			want     State
		}{
			{"below the threshold stays closed", 3, 2, StateClosed},
			{"at the threshold opens", 3, 3, StateOpen},
			{"default threshold is five", 0, 5, StateOpen},
			{"default threshold not reached", 0, 4, StateClosed},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := NewBreaker(BreakerSettings{Name: "dep", Failures: tt.failures})
				for range tt.calls {
					if err := b.Do(bgCtx, 0, fail); !errors.Is(err, ErrUnavailable) || !errors.Is(err, errDown) {
						t.Fatalf("err = %v, want ErrUnavailable wrapping the cause", err)
					}
				}
				if got := b.State(); got != tt.want {
					t.Fatalf("state = %v, want %v", got, tt.want)
				}
			})
		}
	})

	t.Run("a success resets the failure count", func(t *testing.T) {
		b := NewBreaker(BreakerSettings{Name: "dep", Failures: 2})
		_ = b.Do(bgCtx, 0, fail)
		_ = b.Do(bgCtx, 0, ok)
		_ = b.Do(bgCtx, 0, fail)
		if b.State() != StateClosed {
			t.Fatalf("state = %v, want closed", b.State())
		}
	})

	t.Run("an open breaker fails fast without calling the dependency", func(t *testing.T) {
		b := openBreaker(t)
		var called atomic.Bool
		blocking := func(ctx context.Context) error {
			called.Store(true)
			<-ctx.Done()
			return ctx.Err()
		}
		// No timeout: had the call gone through it would never return.
		err := b.Do(bgCtx, 0, blocking)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable", err)
		}
		if called.Load() {
			t.Fatal("the dependency was called through an open breaker")
		}
	})

	t.Run("caller cancellation is not the dependency's fault", func(t *testing.T) {
		b := NewBreaker(BreakerSettings{Name: "dep", Failures: 1})
		ctx, cancel := context.WithCancel(bgCtx)
		cancel()
		for range 3 {
			err := b.Do(ctx, time.Second, func(ctx context.Context) error { return ctx.Err() })
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want context.Canceled unchanged", err)
			}
		}
		if b.State() != StateClosed {
			t.Fatalf("state = %v, want closed", b.State())
		}
	})

	t.Run("a passed request deadline is unavailable but not counted", func(t *testing.T) {
		b := NewBreaker(BreakerSettings{Name: "dep", Failures: 1})
		ctx, cancel := context.WithDeadline(bgCtx, time.Unix(0, 0))
		defer cancel()
		err := b.Do(ctx, time.Second, func(ctx context.Context) error { return ctx.Err() })
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrUnavailable and DeadlineExceeded", err)
		}
		if b.State() != StateClosed {
			t.Fatalf("state = %v, want closed", b.State())
		}
	})

	t.Run("custom answers pass through and keep it closed", func(t *testing.T) {
		errNil := errors.New("redis: nil")
		b := NewBreaker(BreakerSettings{Name: "dep", Failures: 1, IsAnswer: func(err error) bool { return errors.Is(err, errNil) }})
		if err := b.Do(bgCtx, 0, func(context.Context) error { return errNil }); err != errNil {
			t.Fatalf("err = %v, want the answer unchanged", err)
		}
		if b.State() != StateClosed {
			t.Fatalf("state = %v, want closed", b.State())
		}
	})

	t.Run("a panic counts as a failure and goes on up", func(t *testing.T) {
		b := NewBreaker(BreakerSettings{Name: "dep", Failures: 1})
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic was swallowed")
				}
			}()
			_ = b.Do(bgCtx, 0, func(context.Context) error { panic("boom") })
		}()
		if b.State() != StateOpen {
			t.Fatalf("state = %v, want open", b.State())
		}
	})
}

func TestBreakerRecovery(t *testing.T) {
	tests := []struct {
		name   string
		probes uint32
		probe  []error // outcomes of the calls made while half-open
		want   []string
	}{
		{"a successful probe closes it", 1, []error{nil}, []string{"closed>open", "open>half-open", "half-open>closed"}},
		{"a failed probe opens it again", 1, []error{errDown}, []string{"closed>open", "open>half-open", "half-open>open"}},
		{"it needs every probe to succeed", 2, []error{nil}, []string{"closed>open", "open>half-open"}},
		{"two successful probes close a two-probe breaker", 2, []error{nil, nil}, []string{"closed>open", "open>half-open", "half-open>closed"}},
		{"a missing record is a successful probe", 1, []error{ports.ErrNotFound}, []string{"closed>open", "open>half-open", "half-open>closed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var changes []string
			b := NewBreaker(BreakerSettings{
				Name: "dep", Failures: 1, Probes: tt.probes,
				// gobreaker reads the wall clock; a short open period and a
				// wait for the state (not for a duration) stand in for an
				// injected clock.
				OpenFor: 10 * time.Millisecond,
				OnStateChange: func(_ string, from, to State) {
					changes = append(changes, from.String()+">"+to.String())
				},
			})
			_ = b.Do(bgCtx, 0, func(context.Context) error { return errDown })
			waitForState(t, b, StateHalfOpen)
			for _, outcome := range tt.probe {
				_ = b.Do(bgCtx, 0, func(context.Context) error { return outcome })
			}
			// A reopened breaker may turn half-open again before we look,
			// so only the transitions up to the probes' outcome are checked.
			if len(changes) < len(tt.want) || !slices.Equal(changes[:len(tt.want)], tt.want) {
				t.Fatalf("transitions = %v, want %v", changes, tt.want)
			}
		})
	}

	t.Run("a half-open breaker refuses calls beyond its probes", func(t *testing.T) {
		b := NewBreaker(BreakerSettings{Name: "dep", Failures: 1, Probes: 1, OpenFor: 10 * time.Millisecond})
		_ = b.Do(bgCtx, 0, func(context.Context) error { return errDown })
		waitForState(t, b, StateHalfOpen)
		release := make(chan struct{})
		entered := make(chan struct{})
		go func() {
			_ = b.Do(bgCtx, 0, func(context.Context) error {
				close(entered)
				<-release
				return nil
			})
		}()
		<-entered
		var called atomic.Bool
		err := b.Do(bgCtx, 0, func(context.Context) error { called.Store(true); return nil })
		close(release)
		if !errors.Is(err, ErrUnavailable) || called.Load() {
			t.Fatalf("err = %v, called = %v: want a fast refusal while the probe runs", err, called.Load())
		}
	})
}

func TestBreakerMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBreaker(BreakerSettings{Name: "store", Failures: 1, OpenFor: 10 * time.Millisecond, Metrics: m})
	state := func() float64 { return testutil.ToFloat64(m.breakerState.WithLabelValues("store")) }
	trips := func() float64 { return testutil.ToFloat64(m.breakerTrips.WithLabelValues("store")) }

	steps := []struct {
		name      string
		act       func()
		wantState float64
		wantTrips float64
	}{
		{"a new breaker reports closed", func() {}, 0, 0},
		{"a failure trips it", func() { _ = b.Do(bgCtx, 0, func(context.Context) error { return errDown }) }, 2, 1},
		{"after the open period it is half-open", func() { waitForState(t, b, StateHalfOpen) }, 1, 1},
		{"a successful probe closes it", func() { _ = b.Do(bgCtx, 0, func(context.Context) error { return nil }) }, 0, 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.act()
			if got := state(); got != s.wantState {
				t.Errorf("oauth2_breaker_state = %v, want %v", got, s.wantState)
			}
			if got := trips(); got != s.wantTrips {
				t.Errorf("oauth2_breaker_trips_total = %v, want %v", got, s.wantTrips)
			}
		})
	}

	t.Run("registering twice reuses the collectors", func(t *testing.T) {
		again, err := NewMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		if again.breakerTrips != m.breakerTrips {
			t.Fatal("a second NewMetrics on one registry made new collectors")
		}
	})
}

// waitForState waits until b reports want. It bounds the wait only to turn a
// broken breaker into a failure instead of a hung test.
func waitForState(t *testing.T, b *Breaker, want State) {
	t.Helper()
	giveUp := time.Now().Add(10 * time.Second)
	for b.State() != want {
		if time.Now().After(giveUp) {
			t.Fatalf("breaker never became %v", want)
		}
		time.Sleep(time.Millisecond)
	}
}
