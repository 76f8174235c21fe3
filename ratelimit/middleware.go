package ratelimit

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"oauth2-server.dev/ports/oautherr"
)

// KeyFunc names the budget a request draws on: a client address, a
// client_id. An empty key exempts the request from the rule.
type KeyFunc func(*http.Request) string

// Rule is one budget applied to a group of routes.
type Rule struct {
	// Name labels the rule's metric and namespaces its keys, so two rules
	// keyed by the same address keep separate budgets.
	Name string
	// Match selects the requests the rule covers; nil covers every request
	// the middleware sees (for a middleware mounted on one route group).
	Match func(*http.Request) bool
	// Limit is the budget of each key.
	Limit Limit
	// Key names the budget a request draws on.
	Key KeyFunc
}

// Options configures Middleware.
type Options struct {
	// Limiter keeps the budgets: NewMemory, or NewRedis for budgets shared
	// by every replica.
	Limiter Limiter
	// Rules are applied in order; a request draws on every rule that
	// covers it, and the first refusal answers it.
	Rules []Rule
	// Metrics counts refusals; nil records nothing.
	Metrics *Metrics
	// OnError, if set, is told when the limiter fails (a fail-closed Redis
	// outage), for logging.
	OnError func(*http.Request, error)
	// WriteError writes the refusals; nil means oautherr.Write, the
	// server's one writer of RFC 6749 error bodies.
	WriteError oautherr.Writer
}

// Middleware enforces the rules. A request over a budget gets 429 Too Many
// Requests with Retry-After and an RFC 6749 §5.2 JSON body whose error is
// temporarily_unavailable; see the package documentation for why. Every
// response on a route some rule covers carries RateLimit-Limit,
// RateLimit-Remaining, RateLimit-Reset and RateLimit-Policy for the budget
// closest to running out. A limiter failure is answered with 503
// temporarily_unavailable: it only reaches the middleware when the limiter
// was configured to fail closed.
//
// It returns an error for a rule without a name, key or valid limit, or
// with a duplicate name.
func Middleware(o Options) (func(http.Handler) http.Handler, error) {
	if o.Limiter == nil {
		return nil, errors.New("ratelimit: no limiter")
	}
	seen := map[string]bool{}
	for _, r := range o.Rules {
		switch {
		case r.Name == "":
			return nil, errors.New("ratelimit: a rule has no name")
		case seen[r.Name]:
			return nil, fmt.Errorf("ratelimit: rule %q appears twice", r.Name)
		case r.Key == nil:
			return nil, fmt.Errorf("ratelimit: rule %q has no key function", r.Name)
		}
		if err := r.Limit.Validate(); err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.Name, err)
		}
		seen[r.Name] = true
		o.Metrics.forRules(r.Name)
	}
	rules := append([]Rule(nil), o.Rules...)
	if o.WriteError == nil {
		o.WriteError = oautherr.Write
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var tightest Decision
			covered := false
			for i := range rules {
				rule := &rules[i]
				if rule.Match != nil && !rule.Match(r) {
					continue
				}
				key := rule.Key(r)
				if key == "" {
					continue
				}
				d, err := o.Limiter.AllowN(r.Context(), rule.Name+":"+key, rule.Limit, 1)
				if err != nil {
					if o.OnError != nil {
						o.OnError(r, err)
					}
					writeLimiterDown(w, o.WriteError)
					return
				}
				if !d.Allowed {
					o.Metrics.rejected(rule.Name)
					writeLimited(w, d, o.WriteError)
					return
				}
				if !covered || d.Remaining < tightest.Remaining {
					tightest, covered = d, true
				}
			}
			if covered {
				setHeaders(w.Header(), tightest)
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// setHeaders writes the RateLimit header fields of the IETF httpapi
// draft: the burst as the quota, requests left, and seconds until the
// budget is full again, with the policy as quota and window.
func setHeaders(h http.Header, d Decision) {
	fixed := fixedHeadersOf(d.Limit)
	h[hdrLimit] = fixed.limit
	h[hdrPolicy] = fixed.policy
	h[hdrRemaining] = []string{strconv.Itoa(d.Remaining)}
	h[hdrReset] = []string{strconv.Itoa(ceilSeconds(d.ResetAfter))}
}

// The RateLimit header names, in the canonical form http.Header keys take.
var (
	hdrLimit     = http.CanonicalHeaderKey("RateLimit-Limit")
	hdrPolicy    = http.CanonicalHeaderKey("RateLimit-Policy")
	hdrRemaining = http.CanonicalHeaderKey("RateLimit-Remaining")
	hdrReset     = http.CanonicalHeaderKey("RateLimit-Reset")
)

// limitHeaders are the RateLimit-Limit and RateLimit-Policy values of a
// limit, which depend on the limit alone. They are formatted once per
// limit and shared by every response, which never changes them.
type limitHeaders struct{ limit, policy []string }

var (
	limitHeaderCache sync.Map // Limit -> limitHeaders
	limitHeaderCount atomic.Int32
)

// maxCachedLimits bounds limitHeaderCache; a server has a few limits.
const maxCachedLimits = 256

func fixedHeadersOf(l Limit) limitHeaders {
	if v, ok := limitHeaderCache.Load(l); ok {
		return v.(limitHeaders)
	}
	v := limitHeaders{
		limit:  []string{strconv.Itoa(l.Burst)},
		policy: []string{fmt.Sprintf("%d;w=%d", l.Burst, max(1, ceilSeconds(l.window())))},
	}
	if limitHeaderCount.Load() < maxCachedLimits {
		if _, loaded := limitHeaderCache.LoadOrStore(l, v); !loaded {
			limitHeaderCount.Add(1)
		}
	}
	return v
}

// writeLimited answers a refused request with 429 and
// temporarily_unavailable.
func writeLimited(w http.ResponseWriter, d Decision, write oautherr.Writer) {
	setHeaders(w.Header(), d)
	wait := max(d.RetryAfter, time.Second)
	write(w, oautherr.Response{Status: http.StatusTooManyRequests, Code: oautherr.TemporarilyUnavailable,
		Description: fmt.Sprintf("too many requests, retry after %d seconds", oautherr.Seconds(wait)), RetryAfter: wait})
}

// writeLimiterDown answers a request the limiter could not decide on: it
// fails closed only when configured to.
func writeLimiterDown(w http.ResponseWriter, write oautherr.Writer) {
	write(w, oautherr.Response{Status: http.StatusServiceUnavailable, Code: oautherr.TemporarilyUnavailable,
		Description: "the rate limiter is unavailable, retry later", RetryAfter: time.Second})
}

// ceilSeconds rounds up: a client told to wait 0 seconds when 300ms remain
// would be refused again.
func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// Paths matches requests whose URL path is one of paths; a path ending in
// "/*" matches everything below it ("/oauth/register/*").
func Paths(paths ...string) func(*http.Request) bool {
	exact := map[string]bool{}
	var prefixes []string
	for _, p := range paths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasSuffix(prefix, "/") {
			prefixes = append(prefixes, prefix)
		} else {
			exact[p] = true
		}
	}
	return func(r *http.Request) bool {
		if exact[r.URL.Path] {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				return true
			}
		}
		return false
	}
}

// maxFormForKey bounds the bodies ClientID parses, so that finding a key
// never reads more than a token request can plausibly hold.
const maxFormForKey = 64 << 10

// ClientID is a KeyFunc for the client a token-endpoint request names: the
// HTTP Basic user name (form-decoded, RFC 6749 §2.3.1), or else the
// client_id of a form-encoded POST body of known length up to 64 KiB.
// Parsing the form leaves it parsed for the handler; mount the middleware
// after the body-size limit.
//
// The client_id is unauthenticated at this point, so anyone can spend a
// client's budget by naming it; the per-address rule, which runs first in
// DefaultRules, bounds how fast one address can.
func ClientID(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
		// Malformed escapes still name a budget, so they cannot dodge it.
		return user
	}
	if r.Method != http.MethodPost || r.ContentLength < 0 || r.ContentLength > maxFormForKey {
		return ""
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return ""
	}
	if r.ParseForm() != nil {
		return ""
	}
	return r.PostForm.Get("client_id")
}
