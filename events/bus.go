package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/ports"
)

// Errors of Bus.Publish.
var (
	// ErrClosed: the Bus was closed; nothing was enqueued.
	ErrClosed = errors.New("events: bus closed")
	// ErrBufferFull: a sink's buffer had no room, so that sink will not see
	// some of the events; the other sinks got them.
	ErrBufferFull = errors.New("events: sink buffer full, events dropped")
)

// BusConfig configures a Bus. Zero fields take the defaults named on them.
type BusConfig struct {
	Sinks []Sink
	// Buffer is how many events wait for each sink before Publish drops new
	// ones for it (default 1024). It is what a dead sink may cost in memory
	// and what it may absorb of a burst.
	Buffer int
	// BatchSize caps the events handed to one Send (default 100).
	BatchSize int
	// MaxAttempts is how often a batch is tried before it is dropped
	// (default 5).
	MaxAttempts int
	// Backoff spaces the attempts (default ExponentialBackoff(100ms, 10s)).
	Backoff Backoff
	// SendTimeout bounds each Send (default 10s), so a hung sink turns into
	// a failed attempt instead of a stuck worker.
	SendTimeout time.Duration
	// Registerer receives oauth2_events_published_total; nil registers
	// nothing.
	Registerer prometheus.Registerer
	// Logger reports failed attempts and drops (default slog.Default()).
	Logger *slog.Logger
}

// Bus fans events out to sinks. Each sink has its own buffer and worker, so
// a slow or dead sink neither delays the others nor blocks Publish.
type Bus struct {
	workers []*worker
	metrics *metrics
	logger  *slog.Logger

	mu     sync.RWMutex // guards closed against the close of the queues
	closed bool

	closeOnce sync.Once
	abort     context.CancelFunc // stops sends and retries in flight
	aborted   <-chan struct{}
	wg        sync.WaitGroup
}

var _ ports.Publisher = (*Bus)(nil)

type worker struct {
	sink        Sink
	queue       chan ports.Event
	batchSize   int
	maxAttempts int
	backoff     Backoff
	sendTimeout time.Duration
	metrics     *metrics
	logger      *slog.Logger
}

// NewBus starts one worker per sink. Close stops them.
func NewBus(cfg BusConfig) (*Bus, error) {
	if err := checkSinks(cfg.Sinks); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer, cfg.Sinks)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bus{metrics: m, logger: cfg.Logger, abort: cancel, aborted: ctx.Done()}
	for _, s := range cfg.Sinks {
		w := &worker{
			sink:        s,
			queue:       make(chan ports.Event, cfg.Buffer),
			batchSize:   cfg.BatchSize,
			maxAttempts: cfg.MaxAttempts,
			backoff:     cfg.Backoff,
			sendTimeout: cfg.SendTimeout,
			metrics:     m,
			logger:      cfg.Logger.With("sink", s.Name()),
		}
		b.workers = append(b.workers, w)
		b.wg.Go(func() { w.run(ctx) })
	}
	return b, nil
}

func (c BusConfig) withDefaults() BusConfig {
	if c.Buffer <= 0 {
		c.Buffer = 1024
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Backoff == nil {
		c.Backoff = ExponentialBackoff(100*time.Millisecond, 10*time.Second)
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Publish enqueues the events for every sink without waiting for any.
// Invalid events make it enqueue none of them. A full buffer drops the
// events for that sink only and yields ErrBufferFull; after Close it
// returns ErrClosed.
func (b *Bus) Publish(ctx context.Context, events ...ports.Event) error {
	if err := validate(events); err != nil {
		return err
	}
	// The caller may reuse its maps once Publish returns; the workers read
	// these copies later, concurrently.
	owned := make([]ports.Event, len(events))
	for i, e := range events {
		e.Data = maps.Clone(e.Data)
		owned[i] = e
	}

	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrClosed
	}
	var full []string
	for _, w := range b.workers {
		dropped := 0
		for _, e := range owned {
			select {
			case w.queue <- e:
			default:
				dropped++
			}
		}
		if dropped > 0 {
			b.metrics.add(w.sink.Name(), OutcomeDropped, dropped)
			full = append(full, w.sink.Name())
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: sink %s", ErrBufferFull, strings.Join(full, ", "))
	}
	return nil
}

// Close stops accepting events and waits until the workers have sent what
// their buffers hold. When ctx ends first, sends and retries in flight are
// abandoned, what is left is counted as dropped, and ctx's error returned.
// Calling Close again waits the same way.
func (b *Bus) Close(ctx context.Context) error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		for _, w := range b.workers {
			close(w.queue)
		}
		b.mu.Unlock()
	})
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		b.abort() // releases the context; nothing is left to stop
		return nil
	case <-ctx.Done():
		b.abort()
		<-done
		return fmt.Errorf("events: close before every event was sent: %w", ctx.Err())
	}
}

func (w *worker) run(ctx context.Context) {
	batch := make([]ports.Event, 0, w.batchSize)
	for e := range w.queue {
		batch = append(batch[:0], e)
	fill:
		for len(batch) < w.batchSize {
			select {
			case e, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		w.deliver(ctx, batch)
	}
}

func (w *worker) deliver(ctx context.Context, batch []ports.Event) {
	name := w.sink.Name()
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			w.drop(batch, "bus closed before delivery")
			return
		}
		sendCtx, cancel := context.WithTimeout(ctx, w.sendTimeout)
		err := w.sink.Send(sendCtx, batch)
		cancel()
		if err == nil {
			w.metrics.add(name, OutcomeSuccess, len(batch))
			return
		}
		w.metrics.add(name, OutcomeFailure, len(batch))
		if attempt >= w.maxAttempts {
			w.drop(batch, "attempts exhausted", "error", err)
			return
		}
		wait := w.backoff(attempt)
		w.logger.Warn("event sink failed, retrying", "error", err, "attempt", attempt, "events", len(batch), "retry_in", wait)
		if !sleep(wait, ctx.Done()) {
			w.drop(batch, "bus closed before delivery", "error", err)
			return
		}
	}
}

func (w *worker) drop(batch []ports.Event, reason string, args ...any) {
	w.metrics.add(w.sink.Name(), OutcomeDropped, len(batch))
	// Ids, not contents: enough to find the events in another sink.
	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = batch[i].ID
	}
	w.logger.Error("events dropped", append([]any{"reason", reason, "event_ids", ids}, args...)...)
}
