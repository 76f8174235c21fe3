package redisstream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/events/internal/servicetest"
	"oauth2-server.dev/events/redisstream"
	"oauth2-server.dev/ports"
)

func newEvents(n int) []ports.Event {
	out := make([]ports.Event, n)
	for i := range out {
		out[i] = ports.Event{
			ID:       ports.NewEventID(),
			Time:     time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC),
			Type:     ports.EventTokenRevoked,
			Tenant:   ports.DefaultTenant,
			ClientID: "client-1",
			TraceID:  "4bf92f3577b34da6a3ce929d0e0e4736",
			Data:     map[string]string{"token_id": fmt.Sprint("jti-", i)},
		}
	}
	return out
}

// stream returns a key unique to this test run, deleted when it ends.
func stream(t *testing.T, c *redis.Client) string {
	key := servicetest.Unique("oauth2test:events")
	t.Cleanup(func() { c.Del(context.Background(), key) })
	return key
}

func TestSendAppendsEachEventAsAnEntry(t *testing.T) {
	c := servicetest.Redis(t)
	key := stream(t, c)
	sink, err := redisstream.New(redisstream.Config{Client: c, Stream: key})
	if err != nil {
		t.Fatal(err)
	}
	want := newEvents(5)
	if err := sink.Send(t.Context(), want[:2]); err != nil {
		t.Fatal(err)
	}
	if err := sink.Send(t.Context(), want[2:]); err != nil {
		t.Fatal(err)
	}

	entries, err := c.XRange(t.Context(), key, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, entry := range entries {
		got, err := redisstream.Decode(entry)
		if err != nil {
			t.Fatal(err)
		}
		if entry.Values[redisstream.FieldID] != want[i].ID || entry.Values[redisstream.FieldType] != want[i].Type {
			t.Errorf("entry %d fields id=%v type=%v, want %s %s", i, entry.Values[redisstream.FieldID], entry.Values[redisstream.FieldType], want[i].ID, want[i].Type)
		}
		if got.ID != want[i].ID || !got.Time.Equal(want[i].Time) || got.TraceID != want[i].TraceID || got.Data["token_id"] != want[i].Data["token_id"] {
			t.Errorf("entry %d decodes to %+v, want %+v", i, got, want[i])
		}
	}
}

func TestMaxLen(t *testing.T) {
	c := servicetest.Redis(t)
	const sent = 600
	tests := []struct {
		name    string
		maxLen  int64
		atLeast int64
		atMost  int64
	}{
		// Approximate trimming removes whole nodes of (by default) 100
		// entries, so the stream keeps the cap and up to one node more.
		{name: "a cap trims the stream to about that length", maxLen: 150, atLeast: 150, atMost: 150 + 100},
		{name: "a negative cap keeps everything", maxLen: -1, atLeast: sent, atMost: sent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := stream(t, c)
			sink, err := redisstream.New(redisstream.Config{Client: c, Stream: key, MaxLen: tt.maxLen})
			if err != nil {
				t.Fatal(err)
			}
			evs := newEvents(sent)
			for b := range slices.Chunk(evs, 50) {
				if err := sink.Send(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			n, err := c.XLen(t.Context(), key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if n < tt.atLeast || n > tt.atMost {
				t.Errorf("stream holds %d entries, want %d to %d", n, tt.atLeast, tt.atMost)
			}
		})
	}
}

func TestSendFailsOnAClosedClient(t *testing.T) {
	servicetest.RedisURL(t)
	opts, _ := redis.ParseURL(servicetest.RedisURL(t))
	c := redis.NewClient(opts)
	c.Close()
	sink, err := redisstream.New(redisstream.Config{Client: c, Stream: servicetest.Unique("oauth2test:closed")})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Send(t.Context(), newEvents(1)); !errors.Is(err, redis.ErrClosed) {
		t.Errorf("Send = %v, want redis.ErrClosed", err)
	}
}

func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	sink, err := redisstream.New(redisstream.Config{
		Client: client,
		Stream: "oauth2:events",
		MaxLen: redisstream.DefaultMaxLen,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(sink.Name())
	// Output: redis
}
