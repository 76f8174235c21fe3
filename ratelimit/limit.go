package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// Limit is a budget: Rate requests per Per on average, and up to Burst at
// once after a quiet spell.
type Limit struct {
	Rate  int
	Per   time.Duration
	Burst int
}

// PerSecond returns a limit of rate requests a second with the given burst.
func PerSecond(rate, burst int) Limit { return Limit{Rate: rate, Per: time.Second, Burst: burst} }

// PerMinute returns a limit of rate requests a minute with the given burst.
func PerMinute(rate, burst int) Limit { return Limit{Rate: rate, Per: time.Minute, Burst: burst} }

// Validate reports a limit that admits nothing or cannot be computed.
func (l Limit) Validate() error {
	if l.Rate < 1 || l.Per <= 0 || l.Burst < 1 {
		return fmt.Errorf("ratelimit: invalid limit %d per %v burst %d: rate, period and burst must be positive", l.Rate, l.Per, l.Burst)
	}
	if l.Per/time.Duration(l.Rate) < time.Microsecond {
		return fmt.Errorf("ratelimit: invalid limit %d per %v: more than one request a microsecond", l.Rate, l.Per)
	}
	return nil
}

// interval is the GCRA emission interval: the time one request's worth of
// budget takes to come back.
func (l Limit) interval() time.Duration { return l.Per / time.Duration(l.Rate) }

// window is how long an empty budget takes to fill up completely.
func (l Limit) window() time.Duration { return l.interval() * time.Duration(l.Burst) }

// Decision is a limiter's answer for one key.
type Decision struct {
	// Allowed reports whether the request fits the budget.
	Allowed bool
	// Limit is the limit the decision was made under.
	Limit Limit
	// Remaining is how many more requests fit right now.
	Remaining int
	// RetryAfter is how long until the refused request would fit; zero
	// when it was allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the budget is full again.
	ResetAfter time.Duration
}

// Limiter keeps budgets by key. Implementations are safe for concurrent use.
type Limiter interface {
	// AllowN takes n requests' worth of budget from key if they all fit,
	// and takes nothing otherwise. n == 0 takes nothing and answers whether
	// one more request would fit (Allowed, RetryAfter) and how many would
	// (Remaining). n above the limit's burst can never fit and is an error,
	// as is an invalid limit.
	AllowN(ctx context.Context, key string, limit Limit, n int) (Decision, error)
}

var errCostAboveBurst = errors.New("ratelimit: n exceeds the limit's burst and can never be allowed")

func checkRequest(limit Limit, n int) error {
	if err := limit.Validate(); err != nil {
		return err
	}
	if n < 0 || n > limit.Burst {
		return errCostAboveBurst
	}
	return nil
}

// gcra is the Generic Cell Rate Algorithm. The bucket's whole state is its
// theoretical arrival time tat: when the budget would be full again. A
// request of n fits if pushing tat n intervals further keeps it within
// burst intervals of now. Times are in nanoseconds; a tat in the past (or a
// missing one, zero) means a full budget, which is what makes idle keys safe
// to forget. It returns the decision and the tat to store.
func gcra(now, tat int64, l Limit, n int) (Decision, int64) {
	interval := int64(l.interval())
	tolerance := interval * int64(l.Burst)
	if tat < now {
		tat = now
	}
	cost := int64(max(n, 1))
	next := tat + cost*interval
	d := Decision{Limit: l}
	if next-now > tolerance {
		d.RetryAfter = time.Duration(next - tolerance - now)
		d.Remaining = int((tolerance - (tat - now)) / interval)
		d.ResetAfter = time.Duration(tat - now)
		return d, tat
	}
	d.Allowed = true
	if n == 0 {
		d.Remaining = int((tolerance - (tat - now)) / interval)
		d.ResetAfter = time.Duration(tat - now)
		return d, tat
	}
	d.Remaining = int((tolerance - (next - now)) / interval)
	d.ResetAfter = time.Duration(next - now)
	return d, next
}

// hashedKey turns a key into a fixed-size token. Keys hold client
// addresses, client ids and usernames: hashing bounds their size whatever a
// client sends, and keeps them out of anything that lists a backend's keys.
// 128 bits leave collisions out of reach.
func hashedKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}
