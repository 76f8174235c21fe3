package app

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// outageSummaryEvery is how often, at most, a dependency that stays down
// is mentioned again in the log.
const outageSummaryEvery = 30 * time.Second

// outageLog tells the log about one dependency's outages instead of about
// each call that failed: a dependency asked on every request fails on
// every request while it is down, and a line per failure buries every
// other line (thousands in a few seconds at a modest request rate).
//
// It writes a line when the dependency fails after working (with the
// error), at most one line per outageSummaryEvery while it stays down
// (with the number of calls that failed since the previous line, and the
// latest error), and a line when it answers again (with the number of
// calls that failed in the whole outage and how long it lasted).
type outageLog struct {
	log   *slog.Logger
	what  string
	attrs []any
	every time.Duration
	now   func() time.Time

	// down is read without the lock on every successful call.
	down     atomic.Bool
	mu       sync.Mutex
	since    time.Time // when the outage began
	last     time.Time // when the outage was last mentioned
	failures int       // since it was last mentioned
	total    int       // in the whole outage
}

// newOutageLog reports the outages of the dependency what ("rate limit
// backend") through log, with attrs added to every line.
func newOutageLog(log *slog.Logger, what string, attrs ...any) *outageLog {
	return &outageLog{log: log, what: what, attrs: attrs, every: outageSummaryEvery, now: time.Now}
}

// failed records a call that failed.
func (o *outageLog) failed(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if !o.down.Load() {
		o.down.Store(true)
		o.since, o.last, o.failures, o.total = now, now, 0, 1
		o.log.Warn(o.what+" unavailable", slices.Concat(o.attrs, []any{"error", err})...)
		return
	}
	o.failures++
	o.total++
	if now.Sub(o.last) < o.every {
		return
	}
	o.log.Warn(o.what+" still unavailable", slices.Concat(o.attrs, []any{
		"failures", o.failures, "down_for", now.Sub(o.since).Round(time.Millisecond).String(), "error", err})...)
	o.last, o.failures = now, 0
}

// ok records a call that succeeded: the end of an outage, if there was
// one.
func (o *outageLog) ok() {
	if !o.down.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.down.Load() {
		return
	}
	o.down.Store(false)
	o.log.Info(o.what+" recovered", slices.Concat(o.attrs, []any{
		"failures", o.total, "down_for", o.now().Sub(o.since).Round(time.Millisecond).String()})...)
}
