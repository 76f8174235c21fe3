package memsink_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/events/memsink"
	"oauth2-server.dev/ports"
)

func batch(ids ...string) []ports.Event {
	out := make([]ports.Event, len(ids))
	for i, id := range ids {
		out[i] = ports.Event{ID: id, Type: ports.EventLoginSucceeded}
	}
	return out
}

func recorded(s *memsink.Sink) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.ID)
	}
	return out
}

func TestSink(t *testing.T) {
	outage := errors.New("outage")
	tests := []struct {
		name      string
		setup     func(*memsink.Sink)
		wantErrs  []bool // per Send of batches a, b, c
		wantSaved []string
	}{
		{name: "records batches in the order they were sent", wantErrs: []bool{false, false, false}, wantSaved: []string{"a1", "a2", "b1", "c1"}},
		{name: "FailNext fails that many sends and records none of them", setup: func(s *memsink.Sink) { s.FailNext(2, outage) }, wantErrs: []bool{true, true, false}, wantSaved: []string{"c1"}},
		{name: "SetError fails every send", setup: func(s *memsink.Sink) { s.SetError(outage) }, wantErrs: []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := memsink.New("mem")
			if tt.setup != nil {
				tt.setup(s)
			}
			for i, b := range [][]ports.Event{batch("a1", "a2"), batch("b1"), batch("c1")} {
				if err := s.Send(t.Context(), b); (err != nil) != tt.wantErrs[i] {
					t.Errorf("send %d: err = %v, want error %v", i, err, tt.wantErrs[i])
				}
			}
			if got := recorded(s); !slices.Equal(got, tt.wantSaved) {
				t.Errorf("recorded %v, want %v", got, tt.wantSaved)
			}
			if s.Calls() != 3 {
				t.Errorf("Calls = %d, want 3", s.Calls())
			}
		})
	}
}

func TestWait(t *testing.T) {
	t.Run("returns once enough events arrived", func(t *testing.T) {
		s := memsink.New("mem")
		go func() {
			for _, id := range []string{"x", "y", "z"} {
				_ = s.Send(context.Background(), batch(id))
			}
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		got, err := s.Wait(ctx, 3)
		if err != nil || len(got) != 3 {
			t.Fatalf("Wait = %d events, %v", len(got), err)
		}
	})
	t.Run("gives up with what it has when the context ends", func(t *testing.T) {
		s := memsink.New("mem")
		_ = s.Send(t.Context(), batch("only"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		got, err := s.Wait(ctx, 2)
		if !errors.Is(err, context.Canceled) || len(got) != 1 {
			t.Fatalf("Wait = %d events, %v; want 1 and context.Canceled", len(got), err)
		}
	})
}

func ExampleNew() {
	sink := memsink.New("test")
	_ = sink.Send(context.Background(), []ports.Event{{ID: "1", Type: ports.EventCodeIssued}})

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	got, err := sink.Wait(ctx, 1)
	fmt.Println(len(got), got[0].Type, err)
	// Output: 1 code.issued <nil>
}
