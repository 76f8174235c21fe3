package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"oauth2-server.dev/bench/internal/histogram"
)

// Op sends one request and reports whether it succeeded. A worker calls
// its Op sequentially, never concurrently, so an Op may keep state from one
// call to the next (a refresh token chain).
type Op func(ctx context.Context) error

// ErrDone, returned by an Op, ends that worker without counting an error:
// the worker has nothing left to send (its share of prepared codes).
var ErrDone = errors.New("load: worker has nothing left to send")

// Stop wraps an error after which the worker cannot go on (a broken refresh
// chain): it is counted once and the worker ends.
func Stop(err error) error { return stopError{err} }

type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }
func (e stopError) Unwrap() error { return e.err }

// Options bound a run.
type Options struct {
	// Name labels the progress line.
	Name        string
	Concurrency int
	Duration    time.Duration
	// MaxRequests caps the requests sent across all workers.
	MaxRequests int64
	// Progress, when set, receives a progress line: rewritten in place
	// every second when Live is set, else written once at the end.
	Progress io.Writer
	Live     bool
}

// Result is what a run measured. Latencies are of successful requests
// only: a refused connection answers in microseconds and would flatter the
// percentiles.
type Result struct {
	Name string
	// Requests counts successful requests; Errors the others.
	Requests   uint64
	Errors     uint64
	FirstError string
	Elapsed    time.Duration
	// Stopped says why the run ended before its duration, if it did.
	Stopped   string
	Latencies *histogram.Histogram
}

// RPS is successful requests per second of elapsed time.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run starts opts.Concurrency workers, each calling the Op that newOp
// returns for its index, and returns once all have stopped.
func Run(ctx context.Context, opts Options, newOp func(worker int) Op) Result {
	c := max(opts.Concurrency, 1)
	maxReq := opts.MaxRequests
	if maxReq <= 0 {
		maxReq = 1<<63 - 1
	}
	var (
		issued      atomic.Int64
		failed      atomic.Uint64
		firstErr    atomic.Pointer[string]
		budgetSpent atomic.Bool
		wg          sync.WaitGroup
	)
	hists := make([]histogram.Histogram, c)
	ops := make([]Op, c)
	for i := range ops {
		ops[i] = newOp(i)
	}
	// The clock starts before the deadline is set, so a run the deadline
	// ends never reports less than its duration.
	parent := ctx
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	for i := range c {
		wg.Go(func() {
			h, op := &hists[i], ops[i]
			for ctx.Err() == nil {
				if issued.Add(1) > maxReq {
					budgetSpent.Store(true)
					return
				}
				t0 := time.Now()
				err := op(ctx)
				d := time.Since(t0)
				switch {
				case err == nil:
					h.Record(d)
					continue
				case errors.Is(err, ErrDone):
					return
				case ctx.Err() != nil:
					// Cut off by the deadline, not failed by the server.
					return
				}
				failed.Add(1)
				if firstErr.Load() == nil {
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
				}
				var stop stopError
				if errors.As(err, &stop) {
					return
				}
			}
		})
	}

	done := make(chan struct{})
	var (
		progressDone sync.WaitGroup
		lineLen      int
	)
	if opts.Progress != nil && opts.Live {
		progressDone.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					el := time.Since(start)
					n := min(issued.Load(), maxReq)
					line := fmt.Sprintf("%-28s %5.1fs/%v  %9d sent  %9.0f/s  %d errors",
						opts.Name, el.Seconds(), opts.Duration, n, float64(n)/el.Seconds(), failed.Load())
					fmt.Fprint(opts.Progress, "\r"+line)
					lineLen = len(line)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Read before the deferred cancel, so the deadline can be told apart
	// from workers that stopped on their own.
	deadlineReached := ctx.Err() != nil
	close(done)
	progressDone.Wait()

	res := Result{Name: opts.Name, Elapsed: elapsed, Errors: failed.Load(), Latencies: &histogram.Histogram{}}
	for i := range hists {
		res.Latencies.Merge(&hists[i])
	}
	res.Requests = res.Latencies.Count()
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	switch {
	case parent.Err() != nil:
		res.Stopped = "interrupted"
	case budgetSpent.Load():
		res.Stopped = fmt.Sprintf("request budget of %d spent", maxReq)
	case !deadlineReached:
		res.Stopped = "every worker stopped early"
	}
	if opts.Progress != nil {
		if opts.Live && lineLen > 0 {
			fmt.Fprint(opts.Progress, "\r"+strings.Repeat(" ", lineLen)+"\r")
		}
		fmt.Fprintf(opts.Progress, "%-28s %5.1fs  %9d ok  %9.0f/s  %d errors%s\n",
			opts.Name, elapsed.Seconds(), res.Requests, res.RPS(), res.Errors, stoppedSuffix(res.Stopped))
	}
	return res
}

func stoppedSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "  (" + s + ")"
}
