package resilience

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// holdingHandler answers 200 once released, and tells when each request
// has entered it.
type holdingHandler struct {
	entered chan struct{}
	release chan struct{}
}

func newHoldingHandler() *holdingHandler {
	return &holdingHandler{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (h *holdingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.entered <- struct{}{}
	<-h.release
	w.WriteHeader(http.StatusOK)
}

// occupy sends n requests through h and returns once all n are inside the
// handler, with a function that releases them and returns their statuses.
func occupy(t *testing.T, h http.Handler, hh *holdingHandler, n int) func() []int {
	t.Helper()
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oauth/token", nil))
			codes[i] = rec.Code
		})
	}
	for range n {
		<-hh.entered
	}
	return func() []int {
		close(hh.release)
		wg.Wait()
		return codes
	}
}

func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
	return rec
}

func assertUnavailable(t *testing.T, rec *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
	h := rec.Header()
	for k, want := range map[string]string{
		"Retry-After":   retryAfter,
		"Content-Type":  "application/json",
		"Cache-Control": "no-store",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if body.Error != "temporarily_unavailable" || body.Description == "" {
		t.Fatalf("body = %+v, want temporarily_unavailable with a description", body)
	}
}

func TestBulkhead(t *testing.T) {
	tests := []struct {
		name string
		max  int
	}{
		{"one slot", 1},
		{"three slots", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name+" admits exactly that many and refuses the next", func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, _ := NewMetrics(reg)
			hh := newHoldingHandler()
			h := Bulkhead(BulkheadOptions{Group: "token", MaxConcurrent: tt.max, Metrics: m})(hh)
			release := occupy(t, h, hh, tt.max)
			assertUnavailable(t, serve(h, "/oauth/token"), "1")
			for i, code := range release() {
				if code != http.StatusOK {
					t.Errorf("request %d: status %d, want 200", i, code)
				}
			}
			if got := testutil.ToFloat64(m.bulkheadRejections.WithLabelValues("token")); got != 1 {
				t.Errorf("oauth2_bulkhead_rejections_total = %v, want 1", got)
			}
			if len(hh.entered) != 0 {
				t.Errorf("%d refused requests reached the handler", len(hh.entered))
			}
		})
	}

	t.Run("slots free up when requests finish", func(t *testing.T) {
		h := Bulkhead(BulkheadOptions{MaxConcurrent: 1})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		for i := range 5 {
			if rec := serve(h, "/"); rec.Code != http.StatusOK {
				t.Fatalf("request %d: status %d", i, rec.Code)
			}
		}
	})

	t.Run("a queued request runs once a slot frees", func(t *testing.T) {
		hh := newHoldingHandler()
		h := Bulkhead(BulkheadOptions{MaxConcurrent: 1, QueueTimeout: time.Hour})(hh)
		release := occupy(t, h, hh, 1)
		queued := make(chan int)
		go func() { queued <- serve(h, "/").Code }()
		release()
		if code := <-queued; code != http.StatusOK {
			t.Fatalf("queued request: status %d, want 200", code)
		}
	})

	t.Run("a queued request is refused when its wait runs out", func(t *testing.T) {
		hh := newHoldingHandler()
		h := Bulkhead(BulkheadOptions{MaxConcurrent: 1, QueueTimeout: time.Millisecond, RetryAfter: 3 * time.Second})(hh)
		release := occupy(t, h, hh, 1)
		defer release()
		assertUnavailable(t, serve(h, "/"), "3")
	})

	t.Run("each bulkhead has its own slots", func(t *testing.T) {
		hh := newHoldingHandler()
		token := Bulkhead(BulkheadOptions{Group: "token", MaxConcurrent: 1})(hh)
		login := Bulkhead(BulkheadOptions{Group: "login", MaxConcurrent: 1})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		release := occupy(t, token, hh, 1)
		defer release()
		if rec := serve(login, "/login"); rec.Code != http.StatusOK {
			t.Fatalf("login status %d while token is full, want 200", rec.Code)
		}
	})
}

func TestShed(t *testing.T) {
	t.Run("refuses beyond the in-flight limit and recovers", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m, _ := NewMetrics(reg)
		hh := newHoldingHandler()
		h := Shed(ShedOptions{MaxInFlight: 2, Metrics: m})(hh)
		release := occupy(t, h, hh, 2)
		assertUnavailable(t, serve(h, "/oauth/token"), "1")
		assertUnavailable(t, serve(h, "/oauth/token"), "1")
		for i, code := range release() {
			if code != http.StatusOK {
				t.Errorf("request %d: status %d, want 200", i, code)
			}
		}
		if got := testutil.ToFloat64(m.shed); got != 2 {
			t.Errorf("oauth2_shed_total = %v, want 2", got)
		}
		h = Shed(ShedOptions{MaxInFlight: 1})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		for i := range 3 {
			if rec := serve(h, "/"); rec.Code != http.StatusOK {
				t.Fatalf("sequential request %d: status %d", i, rec.Code)
			}
		}
	})

	t.Run("skipped paths are served while full", func(t *testing.T) {
		hh := newHoldingHandler()
		skip := func(r *http.Request) bool { return r.URL.Path == "/health" }
		shed := Shed(ShedOptions{MaxInFlight: 1, Skip: skip})
		mux := http.NewServeMux()
		mux.Handle("/oauth/token", hh)
		mux.HandleFunc("/health", func(http.ResponseWriter, *http.Request) {})
		h := shed(mux)
		release := occupy(t, h, hh, 1)
		defer release()
		if rec := serve(h, "/health"); rec.Code != http.StatusOK {
			t.Fatalf("/health status %d while full, want 200", rec.Code)
		}
		assertUnavailable(t, serve(h, "/oauth/token"), "1")
	})
}

func TestDeadline(t *testing.T) {
	t.Run("the handler's context carries the deadline", func(t *testing.T) {
		const d = time.Minute
		var deadline time.Time
		var ok bool
		before := time.Now()
		h := Deadline(d)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			deadline, ok = r.Context().Deadline()
		}))
		serve(h, "/")
		if !ok {
			t.Fatal("no deadline on the request context")
		}
		if deadline.Before(before.Add(d)) || deadline.After(time.Now().Add(d)) {
			t.Fatalf("deadline %v is not %v after the request", deadline, d)
		}
	})

	t.Run("an earlier incoming deadline is kept", func(t *testing.T) {
		early := time.Now().Add(time.Second)
		var deadline time.Time
		h := Deadline(time.Hour)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			deadline, _ = r.Context().Deadline()
		}))
		ctx, cancel := context.WithDeadline(bgCtx, early)
		defer cancel()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
		if !deadline.Equal(early) {
			t.Fatalf("deadline = %v, want the incoming %v", deadline, early)
		}
	})

	t.Run("a hung store call ends with the request deadline", func(t *testing.T) {
		db, f := newStore(t)
		f.set(nil, true)
		b := NewBreaker(BreakerSettings{Name: "store", Failures: 1})
		store := WrapStore(db, b, 0)
		var err error
		h := Deadline(time.Millisecond)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			_, err = store.GetClient(r.Context(), "t", "c")
		}))
		serve(h, "/oauth/token")
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrUnavailable after the request deadline", err)
		}
		if b.State() != StateClosed {
			t.Fatalf("state = %v: a request deadline must not count against the store", b.State())
		}
	})
}
