package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/events"
	"oauth2-server.dev/events/internal/servicetest"
	"oauth2-server.dev/events/memoutbox"
	"oauth2-server.dev/events/natsjs"
	"oauth2-server.dev/events/redisstream"
	"oauth2-server.dev/ports"
)

// restartingSink stands in for a sink whose server restarts. stop closes
// the real client, so sends fail as they do against a dead server; start
// opens a new one. After loseAcks(n), the next n sends that reach the
// server report failure anyway, as when the connection drops after the
// server stored a batch and before its reply arrived: the case that makes
// at-least-once delivery send an event twice.
type restartingSink struct {
	name string
	open func() (sink events.Sink, closeClient func(), err error)

	mu          sync.Mutex
	cur         events.Sink
	closeClient func()
	lostAcks    int
	forwarded   int // events the real sink took, repeats included
}

func (s *restartingSink) Name() string { return s.name }

func (s *restartingSink) Send(ctx context.Context, batch []ports.Event) error {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if err := cur.Send(ctx, batch); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forwarded += len(batch)
	if s.lostAcks > 0 {
		s.lostAcks--
		return errors.New("connection reset before the reply")
	}
	return nil
}

func (s *restartingSink) start(t *testing.T) {
	t.Helper()
	sink, closeClient, err := s.open()
	if err != nil {
		t.Fatalf("open %s: %v", s.name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.closeClient = sink, closeClient
}

func (s *restartingSink) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeClient()
}

func (s *restartingSink) loseAcks(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lostAcks = n
}

func (s *restartingSink) Forwarded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forwarded
}

// flowEvents are the events of users logging in, authorizing a client,
// refreshing, replaying a refresh token and logging out. They carry ids of
// grants and tokens, never the tokens.
func flowEvents(users int) []ports.Event {
	kinds := []string{
		ports.EventLoginSucceeded, ports.EventConsentGranted, ports.EventCodeIssued, ports.EventCodeRedeemed,
		ports.EventTokenIssued, ports.EventTokenRefreshed, ports.EventRefreshTokenReused, ports.EventTokenRevoked,
		ports.EventConsentRevoked, ports.EventLogout,
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out []ports.Event
	for u := range users {
		for i, kind := range kinds {
			out = append(out, ports.Event{
				ID:       ports.NewEventID(),
				Time:     t0.Add(time.Duration(u*len(kinds)+i) * time.Second),
				Type:     kind,
				Tenant:   ports.DefaultTenant,
				Subject:  fmt.Sprintf("user-%d", u),
				ClientID: "web-app",
				TraceID:  fmt.Sprintf("%032x", u+1),
				Data:     map[string]string{"grant_id": fmt.Sprintf("grant-%d", u)},
			})
		}
	}
	return out
}

// dedupe keeps the first of each id, as a consumer does.
func dedupe(raw []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range raw {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// readRedisGroup consumes the whole stream through a consumer group and
// returns the event ids in stream order, repeats included.
func readRedisGroup(t *testing.T, c *redis.Client, stream string) []string {
	t.Helper()
	ctx := waitCtx(t)
	if err := c.XGroupCreateMkStream(ctx, stream, "audit", "0").Err(); err != nil {
		t.Fatal(err)
	}
	var raw []string
	for {
		res, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: "audit", Consumer: "c1", Streams: []string{stream, ">"}, Count: 16,
			Block: -1, // everything was written before reading starts
		}).Result()
		if errors.Is(err, redis.Nil) {
			return raw
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 || len(res[0].Messages) == 0 {
			return raw
		}
		for _, m := range res[0].Messages {
			e, err := redisstream.Decode(m)
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, e.ID)
			if err := c.XAck(ctx, stream, "audit", m.ID).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// readJetStream consumes the stream with an ordered consumer until it has
// want distinct events and nothing is pending, and returns the ids in
// stream order, repeats included.
func readJetStream(t *testing.T, js jetstream.JetStream, stream string, want int) []string {
	t.Helper()
	ctx := waitCtx(t)
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var raw []string
	for len(dedupe(raw)) < want {
		if ctx.Err() != nil {
			t.Fatalf("JetStream consumer got %d of %d events before the deadline", len(dedupe(raw)), want)
		}
		batch, err := cons.FetchNoWait(16)
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			e, err := natsjs.Decode(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			if h := m.Headers().Get(jetstream.MsgIDHeader); h != e.ID {
				t.Errorf("message of event %s carries Nats-Msg-Id %q", e.ID, h)
			}
			raw = append(raw, e.ID)
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 0 {
		t.Errorf("%d more messages in the stream than distinct events", info.NumPending)
	}
	return raw
}

// The acceptance test: every event of a flow, relayed from an
// outbox, reaches a Redis Streams consumer and a JetStream consumer
// exactly once per id, although both sinks went down and came back in the
// middle of the flow and one batch was delivered without its ack.
func TestRelayDeliversEveryEventOnceAcrossSinkRestart(t *testing.T) {
	redisURL, natsURL := servicetest.RedisURL(t), servicetest.NATSURL(t)
	rdb := servicetest.Redis(t)
	js, err := jetstream.New(servicetest.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	redisKey := servicetest.Unique("oauth2test:relay")
	natsStream := servicetest.Unique("OAUTH2TEST_RELAY")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rdb.Del(ctx, redisKey)
		js.DeleteStream(ctx, natsStream)
	})

	redisSide := &restartingSink{name: "redis", open: func() (events.Sink, func(), error) {
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			return nil, nil, err
		}
		c := redis.NewClient(opts)
		s, err := redisstream.New(redisstream.Config{Client: c, Stream: redisKey})
		return s, func() { c.Close() }, err
	}}
	natsSide := &restartingSink{name: "nats", open: func() (events.Sink, func(), error) {
		nc, err := nats.Connect(natsURL)
		if err != nil {
			return nil, nil, err
		}
		s, err := natsjs.New(natsjs.Config{Conn: nc, Stream: natsStream, SubjectPrefix: "oauth2test." + natsStream})
		return s, nc.Close, err
	}}
	for _, s := range []*restartingSink{redisSide, natsSide} {
		s.start(t)
		t.Cleanup(s.stop)
	}

	const lease = time.Minute
	flow := flowEvents(3)
	outbox := memoutbox.New()
	clock := newFakeClock()
	reg := prometheus.NewRegistry()
	relay, err := events.NewRelay(events.RelayConfig{
		Outbox:     outbox,
		Sinks:      []events.Sink{redisSide, natsSide},
		BatchSize:  4,
		Lease:      lease,
		Clock:      clock,
		Registerer: reg,
		Logger:     testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	appendFlow := func(evs []ports.Event) {
		t.Helper()
		if err := outbox.Append(evs...); err != nil {
			t.Fatal(err)
		}
	}

	// Before the restart.
	appendFlow(flow[:10])
	drain(t, relay)

	// Both sinks go down while the flow goes on: every round fails and the
	// events stay in the outbox.
	redisSide.stop()
	natsSide.stop()
	appendFlow(flow[10:22])
	for round := 0; ; round++ {
		n, err := relay.RunOnce(t.Context())
		if n == 0 {
			break
		}
		if err == nil || round > 10 {
			t.Fatalf("round %d against stopped sinks: %d events, err %v", round, n, err)
		}
	}
	if outbox.Len() != 12 {
		t.Fatalf("outbox holds %d events during the outage, want 12", outbox.Len())
	}

	// They come back, and the first batch each one stores loses its ack.
	redisSide.start(t)
	natsSide.start(t)
	redisSide.loseAcks(1)
	natsSide.loseAcks(1)
	clock.Advance(lease)
	if _, err := relay.RunOnce(t.Context()); err == nil {
		t.Fatal("a round whose acks were lost succeeded")
	}
	clock.Advance(lease)
	appendFlow(flow[22:])
	drain(t, relay)
	if outbox.Len() != 0 {
		t.Fatalf("%d events never left the outbox", outbox.Len())
	}

	const resent = 4 // the batch whose acks were lost
	for _, s := range []*restartingSink{redisSide, natsSide} {
		if got := s.Forwarded(); got != len(flow)+resent {
			t.Errorf("%s sink took %d events, want %d: the flow plus the resent batch", s.name, got, len(flow)+resent)
		}
		if got := published(t, reg, s.name, events.OutcomeSuccess); got != len(flow) {
			t.Errorf("%s: %d successes counted, want one per event (%d)", s.name, got, len(flow))
		}
	}

	want := ids(flow)
	t.Run("redis streams consumer sees each id once after deduplication", func(t *testing.T) {
		raw := readRedisGroup(t, rdb, redisKey)
		if len(raw) != len(flow)+resent {
			t.Errorf("stream holds %d entries, want %d: Redis keeps the resent batch", len(raw), len(flow)+resent)
		}
		if got := dedupe(raw); !slices.Equal(got, want) {
			t.Errorf("after deduplication the consumer has %d events %v\nwant %d in flow order %v", len(got), got, len(want), want)
		}
	})
	t.Run("jetstream consumer sees each id once because the stream dropped the resends", func(t *testing.T) {
		raw := readJetStream(t, js, natsStream, len(flow))
		if !slices.Equal(raw, want) {
			t.Errorf("consumer got %d messages %v\nwant each of %d once in flow order %v", len(raw), raw, len(want), want)
		}
	})
}
