package app

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
)

// breakerTransport puts calls to other servers (client jwks_uri
// documents, back-channel logout endpoints) behind a circuit breaker per
// host: a relying party that is down costs one timeout per breaker period,
// not one per request.
type breakerTransport struct {
	next http.RoundTripper

	mu       sync.Mutex
	breakers map[string]*resilience.Breaker
}

func newOutboundClient() *http.Client {
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &breakerTransport{next: http.DefaultTransport, breakers: map[string]*resilience.Breaker{}},
		// Redirects could lead a fetch to a host nobody registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (t *breakerTransport) breaker(host string) *resilience.Breaker {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.breakers[host]
	if !ok {
		// No metrics: one series per remote host would let registrants
		// choose label values.
		b = resilience.NewBreaker(resilience.BreakerSettings{Name: "outbound"})
		t.breakers[host] = b
	}
	return b
}

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var resp *http.Response
	err := t.breaker(req.URL.Host).Do(req.Context(), 0, func(ctx context.Context) error {
		var err error
		resp, err = t.next.RoundTrip(req.WithContext(ctx))
		if err == nil && resp.StatusCode >= 500 {
			// The answer goes back to the caller; the breaker counts it as
			// the other side failing.
			return errServerSide
		}
		return err
	})
	if resp != nil && errors.Is(err, errServerSide) {
		return resp, nil
	}
	return resp, err
}

type serverSideError struct{}

func (serverSideError) Error() string { return "the remote server answered 5xx" }

var errServerSide error = serverSideError{}

// breakerSink puts an event sink behind a circuit breaker, so a dead sink
// fails its batches at once and the relay or bus retries later instead of
// waiting out a timeout each time.
type breakerSink struct {
	events.Sink
	b *resilience.Breaker
}

func (s breakerSink) Send(ctx context.Context, evs []ports.Event) error {
	return s.b.Do(ctx, 0, func(ctx context.Context) error { return s.Sink.Send(ctx, evs) })
}
