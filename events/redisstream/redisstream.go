package redisstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
)

// Field names of a stream entry. "id" and "type" let consumers filter and
// deduplicate without decoding; "event" is the whole ports.Event as JSON.
const (
	FieldID    = "id"
	FieldType  = "type"
	FieldEvent = "event"
)

// DefaultMaxLen is the stream length kept when Config.MaxLen is zero.
//
// A stream that is never trimmed grows until Redis runs out of memory, and
// this Redis is often the one that also holds the rate-limit budgets. An
// event entry takes well under 1 KiB, so 100,000 entries stay below about
// 100 MiB while covering hours of a busy server's events: a consumer down
// for less than that loses nothing. Trimming is approximate (MAXLEN ~),
// which lets Redis drop whole macro nodes instead of paying for an exact
// length on every XADD; the stream may briefly exceed the cap.
const DefaultMaxLen = 100_000

// Config configures a Sink.
type Config struct {
	// Client is the connection to use; the caller closes it. Send is
	// bounded by its context's deadline only if the client honours it
	// (ContextTimeoutEnabled); go-redis otherwise waits out its own socket
	// timeouts, 5 seconds by default, when Redis stops answering.
	Client redis.UniversalClient
	// Stream is the key (default "oauth2:events").
	Stream string
	// MaxLen caps the stream length, approximately (default
	// DefaultMaxLen). A negative value disables trimming, for operators
	// who trim by other means.
	MaxLen int64
	// Name labels the sink in metrics (default "redis").
	Name string
}

// Sink appends events to a Redis stream.
type Sink struct {
	client redis.UniversalClient
	stream string
	maxLen int64
	name   string
}

var _ events.Sink = (*Sink)(nil)

// New returns a sink; it does not contact Redis.
func New(cfg Config) (*Sink, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstream: nil client")
	}
	if cfg.Stream == "" {
		cfg.Stream = "oauth2:events"
	}
	switch {
	case cfg.MaxLen == 0:
		cfg.MaxLen = DefaultMaxLen
	case cfg.MaxLen < 0:
		cfg.MaxLen = 0 // go-redis omits MAXLEN when zero
	}
	if cfg.Name == "" {
		cfg.Name = "redis"
	}
	return &Sink{client: cfg.Client, stream: cfg.Stream, maxLen: cfg.MaxLen, name: cfg.Name}, nil
}

// Name returns the configured name.
func (s *Sink) Name() string { return s.name }

// Send appends the batch in one MULTI/EXEC transaction, so a failed Send
// has appended nothing or everything and a retry repeats at most whole
// batches. Redis assigns the entry ids; the event id travels as a field,
// and consumers deduplicate by it.
func (s *Sink) Send(ctx context.Context, batch []ports.Event) error {
	if len(batch) == 0 {
		return nil
	}
	values := make([][]any, len(batch))
	for i, e := range batch {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("redisstream: encode event %s: %w", e.ID, err)
		}
		values[i] = []any{FieldID, e.ID, FieldType, e.Type, FieldEvent, string(body)}
	}
	_, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, v := range values {
			p.XAdd(ctx, &redis.XAddArgs{
				Stream: s.stream,
				MaxLen: s.maxLen,
				Approx: true,
				Values: v,
			})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstream: xadd to %s: %w", s.stream, err)
	}
	return nil
}

// Decode turns a stream entry written by Send back into the event.
func Decode(msg redis.XMessage) (ports.Event, error) {
	raw, ok := msg.Values[FieldEvent].(string)
	if !ok {
		return ports.Event{}, fmt.Errorf("redisstream: entry %s has no %q field", msg.ID, FieldEvent)
	}
	var e ports.Event
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return ports.Event{}, fmt.Errorf("redisstream: entry %s: %w", msg.ID, err)
	}
	return e, nil
}
