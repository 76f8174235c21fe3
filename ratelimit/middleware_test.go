package ratelimit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// byHeader keys requests by X-Test-IP, standing in for the resolved
// client address.
func byHeader(r *http.Request) string { return r.Header.Get("X-Test-IP") }

type recorder struct {
	calls int
}

func (h *recorder) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.calls++
	w.WriteHeader(http.StatusOK)
}

func send(h http.Handler, method, path, ip string, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if ip != "" {
		r.Header.Set("X-Test-IP", ip)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func mustMiddleware(t *testing.T, o Options) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := Middleware(o)
	if err != nil {
		t.Fatal(err)
	}
	return mw
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func assertOAuthError(t *testing.T, rec *httptest.ResponseRecorder, status int, retryAfter string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d", rec.Code, status)
	}
	for k, want := range map[string]string{
		"Retry-After":   retryAfter,
		"Content-Type":  "application/json",
		"Cache-Control": "no-store",
		"Pragma":        "no-cache",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var body oauthError
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if body.Error != "temporarily_unavailable" || body.Description == "" {
		t.Fatalf("body = %+v, want temporarily_unavailable with a description", body)
	}
}

func assertHeaders(t *testing.T, rec *httptest.ResponseRecorder, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestMiddleware(t *testing.T) {
	tokenRule := Rule{Name: "token_ip", Match: Paths("/oauth/token"), Limit: PerSecond(10, 3), Key: byHeader}

	t.Run("requests within the budget pass with RateLimit headers", func(t *testing.T) {
		h := &recorder{}
		mw := mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{Clock: newFakeClock()}), Rules: []Rule{tokenRule}})(h)
		for i, want := range []string{"2", "1", "0"} {
			rec := send(mw, http.MethodPost, "/oauth/token", "203.0.113.7", "")
			if rec.Code != http.StatusOK {
				t.Fatalf("request %d: status %d", i, rec.Code)
			}
			assertHeaders(t, rec, map[string]string{
				"RateLimit-Limit":     "3",
				"RateLimit-Remaining": want,
				"RateLimit-Reset":     "1",
				"RateLimit-Policy":    "3;w=1",
			})
			if rec.Header().Get("Retry-After") != "" {
				t.Errorf("request %d: Retry-After on an admitted request", i)
			}
		}
		if h.calls != 3 {
			t.Fatalf("handler called %d times, want 3", h.calls)
		}
	})

	t.Run("the request over the budget gets 429 and never reaches the handler", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		metrics, err := NewMetrics(reg)
		if err != nil {
			t.Fatal(err)
		}
		h := &recorder{}
		mw := mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{Clock: newFakeClock()}), Rules: []Rule{tokenRule}, Metrics: metrics})(h)
		for range 3 {
			send(mw, http.MethodPost, "/oauth/token", "203.0.113.7", "")
		}
		rec := send(mw, http.MethodPost, "/oauth/token", "203.0.113.7", "")
		assertOAuthError(t, rec, http.StatusTooManyRequests, "1")
		assertHeaders(t, rec, map[string]string{"RateLimit-Limit": "3", "RateLimit-Remaining": "0", "RateLimit-Reset": "1"})
		if h.calls != 3 {
			t.Fatalf("handler called %d times, want 3", h.calls)
		}
		if got := testutil.ToFloat64(metrics.rejections.WithLabelValues("token_ip")); got != 1 {
			t.Fatalf("oauth2_ratelimit_rejections_total{rule=token_ip} = %v, want 1", got)
		}
	})

	t.Run("Retry-After and Reset round up to whole seconds", func(t *testing.T) {
		slow := Rule{Name: "slow", Limit: PerMinute(5, 2), Key: byHeader}
		mw := mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{Clock: newFakeClock()}), Rules: []Rule{slow}})(&recorder{})
		send(mw, http.MethodPost, "/login", "a", "")
		rec := send(mw, http.MethodPost, "/login", "a", "")
		assertHeaders(t, rec, map[string]string{"RateLimit-Reset": "24", "RateLimit-Policy": "2;w=24"})
		rec = send(mw, http.MethodPost, "/login", "a", "")
		assertOAuthError(t, rec, http.StatusTooManyRequests, "12")
	})

	t.Run("routes no rule covers pass untouched", func(t *testing.T) {
		h := &recorder{}
		mw := mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{Clock: newFakeClock()}), Rules: []Rule{tokenRule}})(h)
		for range 10 {
			rec := send(mw, http.MethodGet, "/health", "203.0.113.7", "")
			if rec.Code != http.StatusOK || rec.Header().Get("RateLimit-Limit") != "" {
				t.Fatalf("status %d, RateLimit-Limit %q on an uncovered route", rec.Code, rec.Header().Get("RateLimit-Limit"))
			}
		}
	})

	t.Run("an empty key exempts the request", func(t *testing.T) {
		mw := mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{Clock: newFakeClock()}), Rules: []Rule{tokenRule}})(&recorder{})
		for range 10 {
			if rec := send(mw, http.MethodPost, "/oauth/token", "", ""); rec.Code != http.StatusOK {
				t.Fatalf("status %d for a request without a key", rec.Code)
			}
		}
	})

	t.Run("each address has its own budget", func(t *testing.T) {
		mw := mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{Clock: newFakeClock()}), Rules: []Rule{tokenRule}})(&recorder{})
		for range 3 {
			send(mw, http.MethodPost, "/oauth/token", "203.0.113.7", "")
		}
		if rec := send(mw, http.MethodPost, "/oauth/token", "198.51.100.1", ""); rec.Code != http.StatusOK {
			t.Fatalf("another address got %d", rec.Code)
		}
	})

	t.Run("every covering rule is charged and the tightest is reported", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		metrics, _ := NewMetrics(reg)
		rules := []Rule{
			{Name: "token_ip", Match: Paths("/oauth/token"), Limit: PerSecond(10, 10), Key: byHeader},
			{Name: "token_client", Match: Paths("/oauth/token"), Limit: PerSecond(10, 2), Key: ClientID},
		}
		mw := mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{Clock: newFakeClock()}), Rules: rules, Metrics: metrics})(&recorder{})
		rec := send(mw, http.MethodPost, "/oauth/token", "a", "grant_type=client_credentials&client_id=c1")
		assertHeaders(t, rec, map[string]string{"RateLimit-Limit": "2", "RateLimit-Remaining": "1"})
		send(mw, http.MethodPost, "/oauth/token", "b", "grant_type=client_credentials&client_id=c1")
		rec = send(mw, http.MethodPost, "/oauth/token", "c", "grant_type=client_credentials&client_id=c1")
		assertOAuthError(t, rec, http.StatusTooManyRequests, "1")
		if got := testutil.ToFloat64(metrics.rejections.WithLabelValues("token_client")); got != 1 {
			t.Fatalf("token_client rejections = %v, want 1", got)
		}
		if got := testutil.ToFloat64(metrics.rejections.WithLabelValues("token_ip")); got != 0 {
			t.Fatalf("token_ip rejections = %v, want 0", got)
		}
		// Another client from address a still has a budget.
		if rec := send(mw, http.MethodPost, "/oauth/token", "a", "client_id=c2"); rec.Code != http.StatusOK {
			t.Fatalf("client c2 got %d", rec.Code)
		}
	})

	t.Run("a failing limiter answers 503", func(t *testing.T) {
		var logged error
		h := &recorder{}
		mw := mustMiddleware(t, Options{
			Limiter: failingLimiter{},
			Rules:   []Rule{tokenRule},
			OnError: func(_ *http.Request, err error) { logged = err },
		})(h)
		rec := send(mw, http.MethodPost, "/oauth/token", "a", "")
		assertOAuthError(t, rec, http.StatusServiceUnavailable, "1")
		if h.calls != 0 || !errors.Is(logged, errBackendDown) {
			t.Fatalf("handler calls %d, logged %v", h.calls, logged)
		}
	})
}

func TestMiddlewareRefusesBadOptions(t *testing.T) {
	ok := Rule{Name: "r", Limit: PerSecond(1, 1), Key: byHeader}
	tests := []struct {
		name string
		o    Options
	}{
		{"no limiter", Options{Rules: []Rule{ok}}},
		{"a rule without a name", Options{Limiter: NewMemory(MemoryOptions{}), Rules: []Rule{{Limit: ok.Limit, Key: byHeader}}}},
		{"a rule without a key", Options{Limiter: NewMemory(MemoryOptions{}), Rules: []Rule{{Name: "r", Limit: ok.Limit}}}},
		{"a rule with a zero limit", Options{Limiter: NewMemory(MemoryOptions{}), Rules: []Rule{{Name: "r", Key: byHeader}}}},
		{"two rules with one name", Options{Limiter: NewMemory(MemoryOptions{}), Rules: []Rule{ok, ok}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Middleware(tt.o); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestClientID(t *testing.T) {
	tests := []struct {
		name  string
		build func() *http.Request
		want  string
	}{
		{"basic auth user", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			r.SetBasicAuth("client-1", "secret")
			return r
		}, "client-1"},
		{"basic auth user is form-decoded", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			r.SetBasicAuth("a%3Ab+c", "secret")
			return r
		}, "a:b c"},
		{"a malformed escape still names a budget", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			r.SetBasicAuth("bad%zz", "secret")
			return r
		}, "bad%zz"},
		{"form client_id", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("grant_type=x&client_id=public-1"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			return r
		}, "public-1"},
		{"query client_id is not a token request's", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/oauth/token?client_id=q", nil)
		}, ""},
		{"JSON bodies are not read", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth/register", strings.NewReader(`{"client_id":"j"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, ""},
		{"bodies of unknown length are not read", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("client_id=x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.ContentLength = -1
			return r
		}, ""},
		{"large bodies are not read", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("client_id=x&pad="+strings.Repeat("a", maxFormForKey)))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, ""},
		{"no client named", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClientID(tt.build()); got != tt.want {
				t.Fatalf("ClientID = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("the parsed form is left for the handler", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader("grant_type=client_credentials&client_id=c"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ClientID(r)
		if err := r.ParseForm(); err != nil || r.PostFormValue("grant_type") != "client_credentials" {
			t.Fatalf("handler sees grant_type %q (%v)", r.PostFormValue("grant_type"), err)
		}
	})
}

func TestPaths(t *testing.T) {
	match := Paths("/oauth/token", "/oauth/register/*", "/admin")
	tests := []struct {
		path string
		want bool
	}{
		{"/oauth/token", true},
		{"/oauth/token/", false},
		{"/oauth/tokens", false},
		{"/oauth/register/abc", true},
		{"/oauth/register", false},
		{"/admin", true},
		{"/admin/api", false},
		{"/health", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := match(httptest.NewRequest(http.MethodGet, tt.path, nil)); got != tt.want {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDefaultRules(t *testing.T) {
	rules := DefaultRules(DefaultLimits(), byHeader)
	if _, err := Middleware(Options{Limiter: NewMemory(MemoryOptions{}), Rules: rules}); err != nil {
		t.Fatalf("default rules are invalid: %v", err)
	}
	tests := []struct {
		path string
		want []string
	}{
		{"/oauth/token", []string{"token_ip", "token_client"}},
		{"/oauth/introspect", []string{"token_ip", "token_client"}},
		{"/oauth/revoke", []string{"token_ip", "token_client"}},
		{"/oauth/par", []string{"token_ip", "token_client"}},
		{"/oauth/device_authorization", []string{"token_ip", "token_client"}},
		{"/oauth/userinfo", []string{"userinfo_ip"}},
		{"/oauth/authorize", []string{"interactive_ip"}},
		{"/login", []string{"interactive_ip"}},
		{"/consent", []string{"interactive_ip"}},
		{"/device", []string{"interactive_ip"}},
		{"/admin/api/clients", []string{"interactive_ip"}},
		{"/oauth/register", []string{"registration_ip"}},
		{"/oauth/register/abc", []string{"registration_ip"}},
		{"/health", nil},
		{"/ready", nil},
		{"/metrics", nil},
		{"/.well-known/openid-configuration", nil},
		{"/.well-known/jwks.json", nil},
		{"/static/style.css", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.path, nil)
			var got []string
			for _, rule := range rules {
				if rule.Match(r) {
					got = append(got, rule.Name)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("rules %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("the documented numbers", func(t *testing.T) {
		l := DefaultLimits()
		for name, c := range map[string]struct{ got, want Limit }{
			"token":        {l.Token, Limit{50, time.Second, 100}},
			"userinfo":     {l.UserInfo, Limit{50, time.Second, 100}},
			"interactive":  {l.Interactive, Limit{10, time.Second, 20}},
			"registration": {l.Registration, Limit{1, time.Second, 5}},
			"failures":     {l.Failures, Limit{5, time.Minute, 10}},
		} {
			if c.got != c.want {
				t.Errorf("%s = %+v, want %+v", name, c.got, c.want)
			}
		}
	})
}

var errBackendDown = errors.New("backend down")

// failingLimiter stands for a fail-closed backend that is down.
type failingLimiter struct{}

func (failingLimiter) AllowN(context.Context, string, Limit, int) (Decision, error) {
	return Decision{}, errBackendDown
}
