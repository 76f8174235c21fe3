package memoutbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"oauth2-server.dev/events/memoutbox"
	"oauth2-server.dev/ports"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const lease = time.Minute

func evs(n int) []ports.Event {
	out := make([]ports.Event, n)
	for i := range out {
		out[i] = ports.Event{ID: fmt.Sprintf("e%d", i), Type: ports.EventTokenIssued, Time: t0}
	}
	return out
}

func idsOf(events []ports.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func TestClaimAndAck(t *testing.T) {
	type claim struct {
		at    time.Duration // after t0
		limit int
		want  []string
	}
	tests := []struct {
		name   string
		steps  []claim
		ack    []string // acknowledged after the steps
		after  claim    // claimed after the ack
		remain int
	}{
		{
			name:   "claims oldest first up to the limit",
			steps:  []claim{{0, 2, []string{"e0", "e1"}}, {0, 5, []string{"e2", "e3"}}},
			after:  claim{0, 5, nil},
			remain: 4,
		},
		{
			name:   "a leased event is claimed again once its lease has ended",
			steps:  []claim{{0, 3, []string{"e0", "e1", "e2"}}, {lease - time.Second, 5, []string{"e3"}}},
			after:  claim{lease, 5, []string{"e0", "e1", "e2"}},
			remain: 4,
		},
		{
			name:   "an acknowledged event never comes back",
			steps:  []claim{{0, 4, []string{"e0", "e1", "e2", "e3"}}},
			ack:    []string{"e1", "e3"},
			after:  claim{2 * lease, 5, []string{"e0", "e2"}},
			remain: 2,
		},
		{
			name:   "acknowledging unknown or repeated ids is harmless",
			steps:  []claim{{0, 4, []string{"e0", "e1", "e2", "e3"}}},
			ack:    []string{"e0", "e0", "nope"},
			after:  claim{2 * lease, 5, []string{"e1", "e2", "e3"}},
			remain: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := memoutbox.New()
			if err := o.Append(evs(4)...); err != nil {
				t.Fatal(err)
			}
			check := func(c claim) {
				t.Helper()
				got, err := o.ClaimEvents(t.Context(), c.limit, lease, t0.Add(c.at))
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(idsOf(got), c.want) {
					t.Errorf("claim at +%v limit %d = %v, want %v", c.at, c.limit, idsOf(got), c.want)
				}
			}
			for _, c := range tt.steps {
				check(c)
			}
			if err := o.AckEvents(t.Context(), tt.ack); err != nil {
				t.Fatal(err)
			}
			check(tt.after)
			if o.Len() != tt.remain {
				t.Errorf("Len = %d, want %d", o.Len(), tt.remain)
			}
		})
	}
}

func TestAppendRefuses(t *testing.T) {
	tests := []struct {
		name    string
		events  []ports.Event
		wantErr error
	}{
		{name: "an id already waiting", events: []ports.Event{{ID: "e0", Type: "x"}}, wantErr: ports.ErrConflict},
		{name: "one id twice in a batch", events: []ports.Event{{ID: "n", Type: "x"}, {ID: "n", Type: "x"}}, wantErr: ports.ErrConflict},
		{name: "an event without type", events: []ports.Event{{ID: "n"}}, wantErr: ports.ErrInvalidEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := memoutbox.New()
			if err := o.Append(evs(1)...); err != nil {
				t.Fatal(err)
			}
			if err := o.Append(tt.events...); !errors.Is(err, tt.wantErr) {
				t.Errorf("Append = %v, want %v", err, tt.wantErr)
			}
			if o.Len() != 1 {
				t.Errorf("a refused batch was partly appended: Len = %d", o.Len())
			}
		})
	}
}

func TestClaimRefusesLimitBelowOne(t *testing.T) {
	if _, err := memoutbox.New().ClaimEvents(t.Context(), 0, lease, t0); err == nil {
		t.Error("ClaimEvents(limit 0) succeeded")
	}
}

func ExampleNew() {
	ctx := context.Background()
	o := memoutbox.New()
	_ = o.Append(ports.Event{ID: ports.NewEventID(), Type: ports.EventClientRegistered, Time: t0})

	claimed, _ := o.ClaimEvents(ctx, 10, time.Minute, t0)
	fmt.Println(len(claimed), "claimed,", o.Len(), "waiting for an ack")
	_ = o.AckEvents(ctx, []string{claimed[0].ID})
	fmt.Println(o.Len(), "left")
	// Output:
	// 1 claimed, 1 waiting for an ack
	// 0 left
}
