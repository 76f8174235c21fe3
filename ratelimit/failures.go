package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"time"

	"oauth2-server.dev/ports/oautherr"
)

// FailureOptions configures a FailureGuard.
type FailureOptions struct {
	// Limiter keeps the failure budgets; share the one the rate limit
	// middleware uses, so that a Redis-backed guard blocks on every replica.
	Limiter Limiter
	// Limit is the budget of failures per key; DefaultLimits().Failures
	// allows bursts of 10 and 5 a minute after that.
	Limit Limit
	// Name labels the guard's metric and namespaces its keys. Default
	// "auth_failures".
	Name string
	// Metrics counts requests the guard refuses; nil records nothing.
	Metrics *Metrics
	// WriteError writes Middleware's refusals; nil means oautherr.Write,
	// the server's one writer of RFC 6749 error bodies.
	WriteError oautherr.Writer
}

// FailureGuard is the stricter budget of failed authentications, which
// makes guessing client secrets and passwords slow. Handlers call
// RecordFailure after a failed client or user authentication and Blocked
// before checking credentials, so a blocked key is refused without its
// next guess being checked at all. Successful authentications cost
// nothing: the budget comes back at the limit's rate.
//
// Keys are the caller's choice, and one failure is usually recorded under
// several: the client address (one attacker, many accounts) and the client
// id or username (many addresses, one account), prefixed so they cannot
// collide ("ip:203.0.113.7", "client:abc", "user:alice").
type FailureGuard struct {
	o FailureOptions
}

// NewFailureGuard returns a guard, or an error for an invalid limit.
func NewFailureGuard(o FailureOptions) (*FailureGuard, error) {
	if o.Limiter == nil {
		return nil, errors.New("ratelimit: no limiter")
	}
	if err := o.Limit.Validate(); err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = "auth_failures"
	}
	o.Metrics.forRules(o.Name)
	return &FailureGuard{o: o}, nil
}

// RecordFailure spends one failure from each key's budget. Failures
// recorded against an exhausted budget are not queued up: they neither
// fail nor push the key's unblocking further out.
func (g *FailureGuard) RecordFailure(ctx context.Context, keys ...string) error {
	var errs []error
	for _, k := range keys {
		if _, err := g.o.Limiter.AllowN(ctx, g.o.Name+":"+k, g.o.Limit, 1); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Blocked reports whether any of keys has no failure left, and how long
// until the longest-blocked one has. A limiter error is returned as is; a
// handler that cannot tell should refuse, since it is guarding credentials.
func (g *FailureGuard) Blocked(ctx context.Context, keys ...string) (bool, time.Duration, error) {
	blocked := false
	var wait time.Duration
	for _, k := range keys {
		d, err := g.o.Limiter.AllowN(ctx, g.o.Name+":"+k, g.o.Limit, 0)
		if err != nil {
			return false, 0, err
		}
		if !d.Allowed {
			blocked = true
			wait = max(wait, d.RetryAfter)
		}
	}
	return blocked, wait, nil
}

// Middleware refuses requests whose key is blocked with 429 and
// Retry-After, before the handler can check their credentials. It suits a
// key known before the body is read, such as the client address; the
// handler still checks the keys it learns later (client id, username) with
// Blocked. A limiter failure is answered with 503.
func (g *FailureGuard) Middleware(key KeyFunc) func(http.Handler) http.Handler {
	write := g.o.WriteError
	if write == nil {
		write = oautherr.Write
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := key(r)
			if k == "" {
				next.ServeHTTP(w, r)
				return
			}
			d, err := g.o.Limiter.AllowN(r.Context(), g.o.Name+":"+k, g.o.Limit, 0)
			if err != nil {
				writeLimiterDown(w, write)
				return
			}
			if !d.Allowed {
				g.o.Metrics.rejected(g.o.Name)
				write(w, oautherr.Response{Status: http.StatusTooManyRequests, Code: oautherr.TemporarilyUnavailable,
					Description: "too many failed authentication attempts, retry later", RetryAfter: d.RetryAfter})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
