package janitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience/promreg"
)

// MaxBatchesPerTick bounds how many batches of one kind a tick deletes, so
// that a tick does at most MaxBatchesPerTick × batch deletes per kind.
// A large backlog (after downtime, or when the janitor first meets an old
// database) then drains over several ticks in short statements instead of
// holding the store for minutes, while steady traffic, which must expire
// fewer than MaxBatchesPerTick × batch records per kind and interval, is
// kept up with: with batches of a thousand every minute, ten thousand
// expiries per kind and minute.
const MaxBatchesPerTick = 10

// Janitor deletes expired records on an interval.
type Janitor struct {
	purger   ports.Purger
	interval time.Duration
	batch    int
	log      *slog.Logger
	clock    ports.Clock

	deleted  *prometheus.CounterVec
	failures *prometheus.CounterVec
}

// New returns a janitor that every interval asks purger to delete records
// expired by clock, batch records per call. reg receives its metrics and
// may be nil; log and clock may be nil for no logging and the system
// clock.
func New(purger ports.Purger, interval time.Duration, batch int, reg prometheus.Registerer, log *slog.Logger, clock ports.Clock) (*Janitor, error) {
	switch {
	case purger == nil:
		return nil, errors.New("janitor: no purger")
	case interval <= 0:
		return nil, fmt.Errorf("janitor: interval %v is not positive", interval)
	case batch < 1:
		return nil, fmt.Errorf("janitor: batch %d is not positive", batch)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = ports.SystemClock{}
	}
	j := &Janitor{
		purger: purger, interval: interval, batch: batch, log: log, clock: clock,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2_janitor_deleted_total",
			Help: "Expired records the janitor deleted, by kind.",
		}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauth2_janitor_errors_total",
			Help: "Janitor purges that failed, by kind.",
		}, []string{"kind"}),
	}
	if reg != nil {
		var err error
		if j.deleted, err = register(reg, j.deleted); err != nil {
			return nil, err
		}
		if j.failures, err = register(reg, j.failures); err != nil {
			return nil, err
		}
	}
	// Every kind's series exists from the start, at zero, so that a rate
	// over it is defined before the first deletion.
	for _, kind := range ports.PurgeKinds {
		j.deleted.WithLabelValues(kind)
		j.failures.WithLabelValues(kind)
	}
	return j, nil
}

// register registers c, or returns the equal collector registered before,
// so that two janitors on one registry (one per tenant store, say) share
// their series instead of failing.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	c, err := promreg.Register(reg, c)
	if err != nil {
		return nil, fmt.Errorf("janitor: register metrics: %w", err)
	}
	return c, nil
}

// Run purges once at once, so that a restarted server clears what expired
// while it was down, and then every interval until ctx ends. A failed
// purge is logged and retried at the next tick.
//
// A tick that stopped at MaxBatchesPerTick with records left is followed
// by another after a short pause instead of a whole interval: traffic that
// expires more records than a tick deletes is kept up with, in short
// statements, and tables stay bounded.
func (j *Janitor) Run(ctx context.Context) {
	for {
		deleted, err := j.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			j.log.Warn("janitor: purge failed", "error", err)
		}
		wait := j.interval
		for _, n := range deleted {
			if n >= MaxBatchesPerTick*j.batch {
				wait = backlogPause
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// backlogPause separates ticks while a backlog drains, leaving the store
// room for requests between them.
const backlogPause = 200 * time.Millisecond

// RunOnce deletes, for every kind in ports.PurgeKinds, records expired at
// the clock's now, in batches until fewer than a batch come back or
// MaxBatchesPerTick batches ran, and returns how many it deleted by kind.
// A kind that fails does not stop the others; the errors come back joined.
func (j *Janitor) RunOnce(ctx context.Context) (map[string]int, error) {
	start := time.Now()
	now := j.clock.Now()
	deleted := make(map[string]int, len(ports.PurgeKinds))
	var errs []error
	for _, kind := range ports.PurgeKinds {
		n, err := j.purge(ctx, kind, now)
		deleted[kind] = n
		if err != nil {
			j.failures.WithLabelValues(kind).Inc()
			errs = append(errs, err)
		}
	}
	total := 0
	attrs := make([]any, 0, 2*len(ports.PurgeKinds)+4)
	for _, kind := range ports.PurgeKinds {
		total += deleted[kind]
		attrs = append(attrs, kind, deleted[kind])
	}
	if total > 0 {
		attrs = append(attrs, "total", total, "duration", time.Since(start).Round(time.Millisecond))
		j.log.Info("janitor: deleted expired records", attrs...)
	}
	return deleted, errors.Join(errs...)
}

func (j *Janitor) purge(ctx context.Context, kind string, now time.Time) (int, error) {
	total := 0
	for range MaxBatchesPerTick {
		n, err := j.purger.PurgeExpired(ctx, kind, now, j.batch)
		total += n
		j.deleted.WithLabelValues(kind).Add(float64(n))
		if err != nil {
			return total, fmt.Errorf("janitor: purge %s: %w", kind, err)
		}
		if n < j.batch {
			break
		}
	}
	return total, nil
}
