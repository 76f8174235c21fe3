package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"oauth2-server.dev/ports"
)

// Store is a ports.Store held in memory. It is safe for concurrent use:
// every method runs under one mutex, so each change is atomic.
type Store struct {
	fault func(ctx context.Context, method string) error

	mu           sync.Mutex
	clients      map[key]*ports.Client
	users        map[key]*ports.User
	usernames    map[key]string // tenant and username -> user id
	authRequests map[key]*ports.AuthRequest
	codes        map[key]*ports.AuthorizationCode
	tokens       map[key]*ports.Token
	sessions     map[key]*ports.Session
	consents     map[consentKey]*ports.Consent
	keys         map[key]*ports.SigningKey
	jtis         map[key]time.Time // expiry of each used key
	devices      map[key]*ports.DeviceCode
	userCodes    map[key]string // tenant and user code -> device code hash
	ciba         map[key]*ports.CIBARequest
	decisions    map[key]string // tenant and decision hash -> request hash
	outbox       outbox

	// onEvents is told about every change that stored events.
	onEvents atomic.Pointer[func([]ports.Event)]
	closed   atomic.Bool
}

var _ ports.Store = (*Store)(nil)

// Options configures a Store. The zero value is a store that never fails.
type Options struct {
	// Fault, when set, is called at the start of every method that takes
	// a context, with the method's name as ports spells it ("GetClient",
	// "ClaimEvents"). An error it returns is the method's answer, and the
	// store is left untouched; a Fault that waits for ctx to end makes the
	// store hang as an unreachable database does. Tests of callers use it;
	// the store itself never needs it.
	Fault func(ctx context.Context, method string) error
}

// New returns an empty store.
func New(opts Options) *Store {
	return &Store{
		fault:        opts.Fault,
		clients:      map[key]*ports.Client{},
		users:        map[key]*ports.User{},
		usernames:    map[key]string{},
		authRequests: map[key]*ports.AuthRequest{},
		codes:        map[key]*ports.AuthorizationCode{},
		tokens:       map[key]*ports.Token{},
		sessions:     map[key]*ports.Session{},
		consents:     map[consentKey]*ports.Consent{},
		keys:         map[key]*ports.SigningKey{},
		jtis:         map[key]time.Time{},
		devices:      map[key]*ports.DeviceCode{},
		userCodes:    map[key]string{},
		ciba:         map[key]*ports.CIBARequest{},
		decisions:    map[key]string{},
		outbox:       outbox{byID: map[string]*outboxEntry{}},
	}
}

// key names a record within its tenant.
type key struct{ tenant, id string }

// consentKey names a consent: one per user and client in a tenant.
type consentKey struct{ tenant, userID, clientID string }

// errClosed answers every call after Close.
var errClosed = errors.New("memory: store closed")

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.enter(ctx, "Ping")
}

// Close makes every later call fail, as a closed database does. Calling
// it again does nothing. It never consults Options.Fault: it has no
// context with which a hanging fault could end.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// OnEvents registers f to be called with the events of every change that
// stored some, once the change is made, so that a relay can deliver them
// at once instead of at its next poll. f must not block or keep the slice.
// Events appended with AppendEvents are not reported: whoever appends them
// knows of them already.
func (s *Store) OnEvents(f func([]ports.Event)) { s.onEvents.Store(&f) }

// enter runs the checks every method starts with: the fault hook, the
// caller's context, and whether the store is closed.
func (s *Store) enter(ctx context.Context, method string) error {
	if s.fault != nil {
		if err := s.fault(ctx, method); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// read runs fn under the lock once the method's checks pass.
func (s *Store) read(ctx context.Context, method string, fn func() error) error {
	if err := s.enter(ctx, method); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn()
}

// plan decides, under the lock and without changing anything, whether a
// change can happen. It returns the events to store with the change and
// the function that makes it (nil when there is nothing to change), or
// the error that ends the call.
type plan func() (evs []ports.Event, apply func(), err error)

// write makes one change and stores its events in the outbox, together:
// if p fails, or the outbox refuses the events (an id it holds already),
// nothing changes. evs are the events the call was given, validated first
// as ports.Store requires.
func (s *Store) write(ctx context.Context, method string, evs []ports.Event, p plan) error {
	if err := s.enter(ctx, method); err != nil {
		return err
	}
	if err := ports.ValidateEvents(evs); err != nil {
		return errorf(method, err)
	}
	s.mu.Lock()
	stored, apply, err := p()
	if err == nil {
		err = s.outbox.accepts(stored)
	}
	if err != nil {
		s.mu.Unlock()
		return errorf(method, err)
	}
	if apply != nil {
		apply()
	}
	s.outbox.append(stored)
	s.mu.Unlock()
	if len(stored) > 0 {
		if f := s.onEvents.Load(); f != nil {
			(*f)(stored)
		}
	}
	return nil
}

// errorf wraps err, mostly a ports sentinel, with the method that returns
// it.
func errorf(method string, err error) error {
	return fmt.Errorf("memory: %s: %w", method, err)
}

// ts is a time as the store keeps it: in UTC, to the microsecond, as the
// SQL store keeps times, so that both stores answer alike.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// tsp is ts for an optional time, copied so that the caller's pointer and
// the store's never alias.
func tsp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// live reports whether a record expiring at exp is still there at now: a
// record expires at its ExpiresAt.
func live(exp, now time.Time) bool { return ts(now).Before(exp) }

// sortedPage sorts list by sortKey, byte by byte, and cuts it to the
// part p selects: the entries after p.After, at most p.Limit of them.
func sortedPage[T any](list []T, sortKey func(T) string, p ports.Page) []T {
	list = slices.DeleteFunc(list, func(v T) bool { return sortKey(v) <= p.After })
	sortBy(list, sortKey)
	if p.Limit > 0 && len(list) > p.Limit {
		list = list[:p.Limit]
	}
	return list
}

// sortBy sorts list by sortKey, byte by byte.
func sortBy[T any](list []T, sortKey func(T) string) {
	slices.SortFunc(list, func(a, b T) int { return strings.Compare(sortKey(a), sortKey(b)) })
}
