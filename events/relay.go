package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/ports"
)

// RelayConfig configures a Relay. Zero fields take the defaults named on
// them.
type RelayConfig struct {
	Outbox ports.Outbox
	Sinks  []Sink
	// BatchSize is how many events one claim takes (default 100).
	BatchSize int
	// Lease is how long a claimed batch is hidden from other relays
	// (default 30s). A batch not acknowledged by then is claimed again,
	// which is how a failed delivery is retried.
	Lease time.Duration
	// SendTimeout bounds the sends of one batch (default Lease/2): a send
	// still running when the lease ends would race another relay's resend.
	SendTimeout time.Duration
	// PollInterval is how long Run waits when the outbox is empty and
	// nobody called Notify (default 1s).
	PollInterval time.Duration
	// Backoff spaces the rounds of Run after failures, by the number of
	// failed rounds in a row (default ExponentialBackoff(1s, 30s)).
	Backoff Backoff
	// Clock stamps claims (default ports.SystemClock), so tests expire
	// leases by setting time.
	Clock ports.Clock
	// Registerer receives oauth2_events_published_total; nil registers
	// nothing. Sharing the Bus's Registerer shares the counter.
	Registerer prometheus.Registerer
	// Logger reports failed rounds (default slog.Default()).
	Logger *slog.Logger
}

// Relay moves events from an outbox to sinks with at-least-once delivery:
// claim a batch under a lease, send it to every sink, acknowledge it only
// when every sink has taken it. A sink outage leaves the events in the
// outbox, and they are claimed and sent again once their lease ends.
//
// It sends to sinks directly rather than through a Bus because only a
// synchronous send tells whether the acknowledgement is deserved.
type Relay struct {
	outbox       ports.Outbox
	sinks        []Sink
	batchSize    int
	lease        time.Duration
	sendTimeout  time.Duration
	pollInterval time.Duration
	backoff      Backoff
	clock        ports.Clock
	metrics      *metrics
	logger       *slog.Logger
	wake         chan struct{}
	// handed holds the batches given to Hand; failing is set while the
	// last round failed, when Hand takes nothing.
	handed  chan []ports.Event
	failing atomic.Bool

	mu sync.Mutex
	// delivered remembers, per sink, the unacknowledged events that sink
	// already took, so a retry caused by another sink does not send them
	// to it again. It is an optimisation only: forgetting costs duplicates,
	// which consumers absorb, never losses.
	delivered map[string]map[string]struct{}
}

// handedBatches bounds the batches given to Hand that wait for the relay.
const handedBatches = 1024

// maxRememberedPerSink bounds the delivered sets while a sink stays down
// and unacknowledged events pile up.
const maxRememberedPerSink = 100_000

// NewRelay checks cfg; Run or RunOnce do the work.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("events: relay without outbox")
	}
	if err := checkSinks(cfg.Sinks); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer, cfg.Sinks)
	if err != nil {
		return nil, err
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.SendTimeout <= 0 || cfg.SendTimeout > cfg.Lease {
		cfg.SendTimeout = cfg.Lease / 2
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Backoff == nil {
		cfg.Backoff = ExponentialBackoff(time.Second, 30*time.Second)
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	delivered := make(map[string]map[string]struct{}, len(cfg.Sinks))
	for _, s := range cfg.Sinks {
		delivered[s.Name()] = make(map[string]struct{})
	}
	return &Relay{
		outbox:       cfg.Outbox,
		sinks:        cfg.Sinks,
		batchSize:    cfg.BatchSize,
		lease:        cfg.Lease,
		sendTimeout:  cfg.SendTimeout,
		pollInterval: cfg.PollInterval,
		backoff:      cfg.Backoff,
		clock:        cfg.Clock,
		metrics:      m,
		logger:       cfg.Logger,
		wake:         make(chan struct{}, 1),
		handed:       make(chan []ports.Event, handedBatches),
		delivered:    delivered,
	}, nil
}

// Notify wakes Run before its poll interval ends, for a caller that just
// committed outbox rows. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Hand gives the relay events that were committed leased to this process
// (see sqlstore.Store.LeaseOnAppend), to deliver without claiming them:
// Run sends them to every sink and acknowledges them as if it had claimed
// them. It never blocks and does not keep evs. Events the relay cannot take
// now (it is behind, or its last round failed) are left where they are:
// in the outbox, under their lease, after which any relay claims them.
func (r *Relay) Hand(evs []ports.Event) {
	if len(evs) == 0 || r.failing.Load() {
		return
	}
	select {
	case r.handed <- slices.Clone(evs):
	default:
	}
}

// Run relays until ctx ends, then returns nil. It claims again at once
// while batches come back full, waits PollInterval (or a Notify) when the
// outbox runs dry, and backs off after failed rounds. While it waits, it
// delivers the events given to Hand.
func (r *Relay) Run(ctx context.Context) error {
	var (
		failures int
		n        int
		err      error
	)
	for {
		// After a failed handed batch the round is that failure: no claim.
		if err == nil {
			n, err = r.RunOnce(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		r.failing.Store(failures > 0)
		var wait time.Duration
		switch {
		case err != nil:
			wait = r.backoff(failures)
			r.logger.Warn("event relay round failed", "error", err, "events", n, "failures_in_a_row", failures, "retry_in", wait)
		case n == r.batchSize:
			continue
		default:
			wait = r.pollInterval
		}
		n, err = 0, r.wait(ctx, wait)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// wait waits d, a Notify or the end of ctx, and delivers the handed events
// that arrive meanwhile. A handed batch that fails ends the wait with its
// error, so that Run backs off.
func (r *Relay) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
			return nil
		case <-t.C:
			return nil
		case evs := <-r.handed:
			// Handed batches waiting together go out together, up to a
			// claim's size.
			for more := true; more && len(evs) < r.batchSize; {
				select {
				case next := <-r.handed:
					evs = append(evs, next...)
				default:
					more = false
				}
			}
			if err := r.deliver(ctx, evs); err != nil {
				r.failing.Store(true)
				return err
			}
		}
	}
}

// RunOnce claims one batch, sends it to every sink that has not taken it
// yet, and acknowledges it if all succeeded. It returns how many events it
// claimed, and an error if a sink or the outbox failed; the events of a
// failed batch stay in the outbox and come back after the lease.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	batch, err := r.outbox.ClaimEvents(ctx, r.batchSize, r.lease, r.clock.Now())
	if err != nil {
		return 0, fmt.Errorf("events: claim from outbox: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	return len(batch), r.deliver(ctx, batch)
}

// deliver sends a leased batch to every sink that has not taken it yet and
// acknowledges it if all succeeded.
func (r *Relay) deliver(ctx context.Context, batch []ports.Event) error {
	sendCtx, cancel := context.WithTimeout(ctx, r.sendTimeout)
	defer cancel()
	errs := make([]error, len(r.sinks))
	var wg sync.WaitGroup
	for i, s := range r.sinks {
		pending := r.pending(s.Name(), batch)
		if len(pending) == 0 {
			continue
		}
		wg.Go(func() {
			if err := s.Send(sendCtx, pending); err != nil {
				r.metrics.add(s.Name(), OutcomeFailure, len(pending))
				errs[i] = fmt.Errorf("sink %s: %w", s.Name(), err)
				return
			}
			r.metrics.add(s.Name(), OutcomeSuccess, len(pending))
			r.remember(s.Name(), pending)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("events: relay %d events: %w", len(batch), err)
	}

	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = batch[i].ID
	}
	if err := r.outbox.AckEvents(ctx, ids); err != nil {
		// The sinks have the events; the next lease sends them again and
		// consumers drop the repeats.
		return fmt.Errorf("events: ack %d events: %w", len(ids), err)
	}
	r.forget(ids)
	return nil
}

func (r *Relay) pending(sink string, batch []ports.Event) []ports.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := r.delivered[sink]
	if len(seen) == 0 {
		return batch
	}
	out := make([]ports.Event, 0, len(batch))
	for _, e := range batch {
		if _, ok := seen[e.ID]; !ok {
			out = append(out, e)
		}
	}
	return out
}

func (r *Relay) remember(sink string, sent []ports.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := r.delivered[sink]
	if len(seen)+len(sent) > maxRememberedPerSink {
		clear(seen)
	}
	for _, e := range sent {
		seen[e.ID] = struct{}{}
	}
}

func (r *Relay) forget(ids []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, seen := range r.delivered {
		for _, id := range ids {
			delete(seen, id)
		}
	}
}
