package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	t.Run("request budget ends the run", func(t *testing.T) {
		res := Run(context.Background(), Options{Name: "budget", Concurrency: 4, Duration: time.Minute, MaxRequests: 1000},
			func(int) Op { return func(context.Context) error { return nil } })
		if res.Requests != 1000 || res.Errors != 0 || !strings.Contains(res.Stopped, "budget") {
			t.Fatalf("requests %d, errors %d, stopped %q", res.Requests, res.Errors, res.Stopped)
		}
	})
	t.Run("duration ends the run", func(t *testing.T) {
		res := Run(context.Background(), Options{Name: "duration", Concurrency: 2, Duration: 50 * time.Millisecond},
			func(int) Op {
				return func(ctx context.Context) error {
					time.Sleep(time.Millisecond)
					return nil
				}
			})
		if res.Requests == 0 || res.Stopped != "" || res.Elapsed < 50*time.Millisecond {
			t.Fatalf("requests %d, stopped %q, elapsed %v", res.Requests, res.Stopped, res.Elapsed)
		}
	})
	t.Run("errors are counted and the first one kept", func(t *testing.T) {
		var n atomic.Int64
		res := Run(context.Background(), Options{Name: "errors", Concurrency: 1, Duration: time.Minute, MaxRequests: 10},
			func(int) Op {
				return func(context.Context) error {
					if i := n.Add(1); i%2 == 0 {
						return fmt.Errorf("failure %d", i)
					}
					return nil
				}
			})
		if res.Requests != 5 || res.Errors != 5 || res.FirstError != "failure 2" {
			t.Fatalf("requests %d, errors %d, first %q", res.Requests, res.Errors, res.FirstError)
		}
	})
	t.Run("ErrDone and Stop end a worker", func(t *testing.T) {
		var progress bytes.Buffer
		res := Run(context.Background(), Options{Name: "done", Concurrency: 2, Duration: time.Minute, Progress: &progress},
			func(worker int) Op {
				sent := 0
				return func(context.Context) error {
					sent++
					switch {
					case sent <= 3:
						return nil
					case worker == 0:
						return ErrDone
					default:
						return Stop(errors.New("chain broken"))
					}
				}
			})
		if res.Requests != 6 || res.Errors != 1 || res.FirstError != "chain broken" || res.Stopped != "every worker stopped early" {
			t.Fatalf("requests %d, errors %d, first %q, stopped %q", res.Requests, res.Errors, res.FirstError, res.Stopped)
		}
		if !strings.Contains(progress.String(), "done") || !strings.HasSuffix(progress.String(), "\n") {
			t.Fatalf("progress line = %q", progress.String())
		}
	})
}
