package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
)

// Defaults of Config.
const (
	DefaultStream        = "OAUTH2_EVENTS"
	DefaultSubjectPrefix = "oauth2.events"
	// DefaultDuplicates is the deduplication window of a stream the sink
	// creates. JetStream's own default of two minutes is shorter than a
	// few relay leases plus backoff; ten minutes covers a resend after a
	// lost acknowledgement at the cost of remembering ten minutes of ids.
	DefaultDuplicates = 10 * time.Minute
	// DefaultMaxAge is how long a created stream keeps events.
	DefaultMaxAge = 7 * 24 * time.Hour
)

// Config configures a Sink.
type Config struct {
	// Conn is the connection to use; the caller closes it.
	Conn *nats.Conn
	// Stream names the stream (default DefaultStream).
	Stream string
	// SubjectPrefix starts every subject (default DefaultSubjectPrefix); a
	// created stream listens on <prefix>.>.
	SubjectPrefix string
	// Duplicates and MaxAge apply only when the sink creates the stream
	// (defaults DefaultDuplicates and DefaultMaxAge).
	Duplicates time.Duration
	MaxAge     time.Duration
	// Name labels the sink in metrics (default "nats").
	Name string
}

// Sink publishes events to a JetStream stream.
type Sink struct {
	js     jetstream.JetStream
	cfg    Config
	mu     sync.Mutex
	stream bool // the stream is known to exist
}

var _ events.Sink = (*Sink)(nil)

// New returns a sink. It does not contact the server, so that a NATS
// outage at start-up delays events instead of the server; the stream is
// ensured by the first Send or by EnsureStream.
func New(cfg Config) (*Sink, error) {
	if cfg.Conn == nil {
		return nil, errors.New("natsjs: nil connection")
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = DefaultSubjectPrefix
	}
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = DefaultDuplicates
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Name == "" {
		cfg.Name = "nats"
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("natsjs: %w", err)
	}
	return &Sink{js: js, cfg: cfg}, nil
}

// Name returns the configured name.
func (s *Sink) Name() string { return s.cfg.Name }

// Subject returns the subject an event of type typ is published on.
// Characters that NATS gives a meaning in subjects (wildcards, spaces) are
// replaced by '_' and empty tokens dropped, so an odd type can neither
// widen a subscription nor make the subject invalid.
func (s *Sink) Subject(typ string) string {
	tokens := strings.FieldsFunc(typ, func(r rune) bool { return r == '.' })
	for i, tok := range tokens {
		tokens[i] = strings.Map(func(r rune) rune {
			if r == '*' || r == '>' || r <= ' ' || r == 0x7f {
				return '_'
			}
			return r
		}, tok)
	}
	if len(tokens) == 0 {
		tokens = []string{"_"}
	}
	return s.cfg.SubjectPrefix + "." + strings.Join(tokens, ".")
}

// EnsureStream creates the stream if it does not exist; an existing
// stream is left as the operator configured it.
func (s *Sink) EnsureStream(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream {
		return nil
	}
	_, err := s.js.Stream(ctx, s.cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = s.js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        s.cfg.Stream,
			Description: "oauth2-server domain events",
			Subjects:    []string{s.cfg.SubjectPrefix + ".>"},
			Storage:     jetstream.FileStorage,
			MaxAge:      s.cfg.MaxAge,
			Duplicates:  s.cfg.Duplicates,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // another replica won the race
		}
	}
	if err != nil {
		return fmt.Errorf("natsjs: ensure stream %s: %w", s.cfg.Stream, err)
	}
	s.stream = true
	return nil
}

// Send publishes every event of the batch and waits for JetStream to
// store each. A message JetStream reports as a duplicate counts as stored:
// an earlier attempt delivered it.
func (s *Sink) Send(ctx context.Context, batch []ports.Event) error {
	if len(batch) == 0 {
		return nil
	}
	if err := s.EnsureStream(ctx); err != nil {
		return err
	}
	// Asynchronous publishes put the whole batch on the wire before
	// waiting, instead of one round trip per event.
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, e := range batch {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("natsjs: encode event %s: %w", e.ID, err)
		}
		msg := nats.NewMsg(s.Subject(e.Type))
		msg.Data = body
		f, err := s.js.PublishMsgAsync(msg,
			jetstream.WithMsgID(e.ID),
			jetstream.WithExpectStream(s.cfg.Stream))
		if err != nil {
			return fmt.Errorf("natsjs: publish event %s: %w", e.ID, err)
		}
		futures = append(futures, f)
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
				// The stream may have been deleted: look again next time.
				s.mu.Lock()
				s.stream = false
				s.mu.Unlock()
			}
			return fmt.Errorf("natsjs: publish event %s: %w", batch[i].ID, err)
		case <-ctx.Done():
			return fmt.Errorf("natsjs: waiting for acks: %w", ctx.Err())
		}
	}
	return nil
}

// Decode turns a message body written by Send back into the event.
func Decode(data []byte) (ports.Event, error) {
	var e ports.Event
	if err := json.Unmarshal(data, &e); err != nil {
		return ports.Event{}, fmt.Errorf("natsjs: decode event: %w", err)
	}
	return e, nil
}
