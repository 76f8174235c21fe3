package app

import (
	"errors"
	"fmt"
	"sync"
)

// resources is what the start has opened and someone must release: the
// store, Redis clients, the NATS connection, the tracer, the event bus,
// the outbound clients' connections, the background work. It is a stack:
// each resource is pushed as soon as it exists and released in the
// reverse order, so that nothing is released before what still uses it.
// A start that fails releases what it had opened; one that succeeds
// hands the stack to the App, whose Close releases it.
type resources struct {
	mu      sync.Mutex
	closers []closer
}

type closer struct {
	name  string
	close func() error
}

// push adds the release of a resource just opened.
func (r *resources) push(name string, close func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closers = append(r.closers, closer{name: name, close: close})
}

// pushFunc is push for a release that cannot fail.
func (r *resources) pushFunc(name string, close func()) {
	r.push(name, func() error { close(); return nil })
}

// release releases every resource, the last pushed first, all of them
// whatever fails, and returns what failed. What it released is off the
// stack: a second call releases only what was pushed since.
func (r *resources) release() error {
	r.mu.Lock()
	closers := r.closers
	r.closers = nil
	r.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i].close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", closers[i].name, err))
		}
	}
	return errors.Join(errs...)
}
