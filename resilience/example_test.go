package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
	"oauth2-server.dev/storage/memory"
)

func ExampleNewBreaker() {
	metrics, _ := resilience.NewMetrics(prometheus.NewRegistry())
	b := resilience.NewBreaker(resilience.BreakerSettings{Name: "jwks", Failures: 2, OpenFor: time.Minute, Metrics: metrics})

	refused := errors.New("connection refused")
	for range 2 {
		_ = b.Do(context.Background(), time.Second, func(context.Context) error { return refused })
	}
	err := b.Do(context.Background(), time.Second, func(context.Context) error {
		panic("not reached: the breaker is open")
	})
	fmt.Println(b.State(), errors.Is(err, resilience.ErrUnavailable))
	// Output: open true
}

func ExampleWrapStore() {
	ctx := context.Background()
	db := memory.New(memory.Options{}) // a SQL or MongoDB store in production
	_ = db.CreateClient(ctx, &ports.Client{ID: "demo", Tenant: ports.DefaultTenant})
	b := resilience.NewBreaker(resilience.BreakerSettings{Name: "store"})
	store := resilience.WrapStore(db, b, 2*time.Second)

	c, _ := store.GetClient(ctx, ports.DefaultTenant, "demo")
	_, err := store.GetClient(ctx, ports.DefaultTenant, "nobody")
	// A missing client is an answer: it passes through and the breaker
	// stays closed.
	fmt.Println(c.ID, errors.Is(err, ports.ErrNotFound), b.State())
	// Output: demo true closed
}

func ExampleBulkhead() {
	token := resilience.Bulkhead(resilience.BulkheadOptions{Group: "token", MaxConcurrent: 64, QueueTimeout: 50 * time.Millisecond})
	h := token(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oauth/token", nil))
	fmt.Println(rec.Code, rec.Body)
	// Output: 200 ok
}

func ExampleShed() {
	shed := resilience.Shed(resilience.ShedOptions{
		MaxInFlight: 512,
		Skip:        func(r *http.Request) bool { return r.URL.Path == "/health" || r.URL.Path == "/ready" },
	})
	h := shed(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil))
	fmt.Println(rec.Code)
	// Output: 200
}

func ExampleDeadline() {
	h := resilience.Deadline(5 * time.Second)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := r.Context().Deadline()
		fmt.Println("deadline set:", ok)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output: deadline set: true
}

func ExampleNewMetrics() {
	reg := prometheus.NewRegistry()
	m, err := resilience.NewMetrics(reg)
	if err != nil {
		panic(err)
	}
	resilience.NewBreaker(resilience.BreakerSettings{Name: "store", Metrics: m})

	families, _ := reg.Gather()
	for _, f := range families {
		fmt.Println(f.GetName())
	}
	// Output:
	// oauth2_breaker_state
	// oauth2_breaker_trips_total
	// oauth2_shed_total
}
