package ratelimit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"oauth2-server.dev/ports/oautherr"
)

// TestRefusalsOnTheWire pins a refusal as a client receives it: status,
// every header but Date, and the body to the byte.
func TestRefusalsOnTheWire(t *testing.T) {
	rule := Rule{Name: "token_ip", Limit: PerMinute(1, 1), Key: byHeader}
	limiterDown := http.Header{
		"Cache-Control":  {"no-store"},
		"Content-Length": {"103"},
		"Content-Type":   {"application/json"},
		"Pragma":         {"no-cache"},
		"Retry-After":    {"1"},
	}
	limiterDownBody := `{"error":"temporarily_unavailable","error_description":"the rate limiter is unavailable, retry later"}` + "\n"
	// guard returns the failure guard's middleware after failures failures
	// of the address.
	guard := func(l Limiter, failures int) http.Handler {
		g, err := NewFailureGuard(FailureOptions{Limiter: l, Limit: PerMinute(1, 1)})
		if err != nil {
			t.Fatal(err)
		}
		for range failures {
			if err := g.RecordFailure(context.Background(), "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		return g.Middleware(byHeader)(&recorder{})
	}
	tests := []struct {
		name       string
		handler    http.Handler
		requests   int
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{
			name:       "a request over the budget",
			handler:    mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{}), Rules: []Rule{rule}})(&recorder{}),
			requests:   2,
			wantStatus: http.StatusTooManyRequests,
			wantHeader: http.Header{
				"Cache-Control":       {"no-store"},
				"Content-Length":      {"100"},
				"Content-Type":        {"application/json"},
				"Pragma":              {"no-cache"},
				"Ratelimit-Limit":     {"1"},
				"Ratelimit-Policy":    {"1;w=60"},
				"Ratelimit-Remaining": {"0"},
				"Ratelimit-Reset":     {"60"},
				"Retry-After":         {"60"},
			},
			wantBody: `{"error":"temporarily_unavailable","error_description":"too many requests, retry after 60 seconds"}` + "\n",
		},
		{
			name:       "a failing limiter",
			handler:    mustMiddleware(t, Options{Limiter: failingLimiter{}, Rules: []Rule{rule}})(&recorder{}),
			requests:   1,
			wantStatus: http.StatusServiceUnavailable,
			wantHeader: limiterDown,
			wantBody:   limiterDownBody,
		},
		{
			name:       "an address the failure guard blocks",
			handler:    guard(NewMemory(MemoryOptions{}), 1),
			requests:   1,
			wantStatus: http.StatusTooManyRequests,
			wantHeader: http.Header{
				"Cache-Control":  {"no-store"},
				"Content-Length": {"111"},
				"Content-Type":   {"application/json"},
				"Pragma":         {"no-cache"},
				"Retry-After":    {"60"},
			},
			wantBody: `{"error":"temporarily_unavailable","error_description":"too many failed authentication attempts, retry later"}` + "\n",
		},
		{
			name:       "a failure guard whose limiter fails",
			handler:    guard(failingLimiter{}, 0),
			requests:   1,
			wantStatus: http.StatusServiceUnavailable,
			wantHeader: limiterDown,
			wantBody:   limiterDownBody,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is answered as before", func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			var status int
			var header http.Header
			var body string
			for range tt.requests {
				status, header, body = post(t, srv.URL+"/oauth/token", "192.0.2.1")
			}
			header.Del("Date")
			if status != tt.wantStatus || !reflect.DeepEqual(header, tt.wantHeader) || body != tt.wantBody {
				t.Fatalf("got %d %v %q,\nwant %d %v %q", status, header, body, tt.wantStatus, tt.wantHeader, tt.wantBody)
			}
		})
	}
}

// post sends an empty POST from the address ip and returns the answer.
func post(t *testing.T, url, ip string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Test-IP", ip)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

// TestInjectedErrorWriter: a server that writes its errors its own way
// has every refusal written by it, with the refusal's status, code and
// wait.
func TestInjectedErrorWriter(t *testing.T) {
	rule := Rule{Name: "token_ip", Limit: PerMinute(1, 1), Key: byHeader}
	var got []oautherr.Response
	write := func(w http.ResponseWriter, res oautherr.Response) {
		got = append(got, res)
		w.WriteHeader(res.Status)
	}
	guard, err := NewFailureGuard(FailureOptions{Limiter: failingLimiter{}, Limit: PerMinute(1, 1), WriteError: write})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		handler  http.Handler
		requests int
		want     oautherr.Response
	}{
		{"a request over the budget", mustMiddleware(t, Options{Limiter: NewMemory(MemoryOptions{}), Rules: []Rule{rule}, WriteError: write})(&recorder{}), 2,
			oautherr.Response{Status: http.StatusTooManyRequests, Code: oautherr.TemporarilyUnavailable, Description: "too many requests, retry after 60 seconds", RetryAfter: time.Minute}},
		{"a failing limiter", mustMiddleware(t, Options{Limiter: failingLimiter{}, Rules: []Rule{rule}, WriteError: write})(&recorder{}), 1,
			oautherr.Response{Status: http.StatusServiceUnavailable, Code: oautherr.TemporarilyUnavailable, Description: "the rate limiter is unavailable, retry later", RetryAfter: time.Second}},
		{"a guard whose limiter fails", guard.Middleware(byHeader)(&recorder{}), 1,
			oautherr.Response{Status: http.StatusServiceUnavailable, Code: oautherr.TemporarilyUnavailable, Description: "the rate limiter is unavailable, retry later", RetryAfter: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is written by the injected writer", func(t *testing.T) {
			got = nil
			var rec *httptest.ResponseRecorder
			for range tt.requests {
				rec = send(tt.handler, http.MethodPost, "/oauth/token", "192.0.2.1", "")
			}
			// The wait is compared as advertised: in whole seconds.
			if len(got) != 1 || oautherr.Seconds(got[0].RetryAfter) != oautherr.Seconds(tt.want.RetryAfter) {
				t.Fatalf("writer called with %+v, want once with %+v", got, tt.want)
			}
			if got[0].RetryAfter = tt.want.RetryAfter; got[0] != tt.want {
				t.Fatalf("writer called with %+v, want %+v", got[0], tt.want)
			}
			if rec.Code != tt.want.Status || rec.Body.Len() != 0 {
				t.Fatalf("response %d %q, want only what the writer wrote", rec.Code, rec.Body)
			}
		})
	}
}
