package ratelimit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// TestRefusalsOnTheWire pins a refusal as a client receives it: status,
// every header but Date, and the body to the byte.
func TestRefusalsOnTheWire(t *testing.T) {
	rule := Rule{Name: "token_ip", Limit: PerMinute(1, 1), Key: byHeader}
	tests := []struct {
		name       string
		options    Options
		requests   int
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{
			name:       "a request over the budget",
			options:    Options{Limiter: NewMemory(MemoryOptions{}), Rules: []Rule{rule}},
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
			options:    Options{Limiter: failingLimiter{}, Rules: []Rule{rule}},
			requests:   1,
			wantStatus: http.StatusServiceUnavailable,
			wantHeader: http.Header{
				"Cache-Control":  {"no-store"},
				"Content-Length": {"103"},
				"Content-Type":   {"application/json"},
				"Pragma":         {"no-cache"},
				"Retry-After":    {"1"},
			},
			wantBody: `{"error":"temporarily_unavailable","error_description":"the rate limiter is unavailable, retry later"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is answered as before", func(t *testing.T) {
			srv := httptest.NewServer(mustMiddleware(t, tt.options)(&recorder{}))
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

// TestGuardRefusalsOnTheWire pins the failure guard's refusals as a client
// receives them.
func TestGuardRefusalsOnTheWire(t *testing.T) {
	tests := []struct {
		name       string
		limiter    Limiter
		failures   int
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{
			name:       "a blocked address",
			limiter:    NewMemory(MemoryOptions{}),
			failures:   1,
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
			name:       "a failing limiter",
			limiter:    failingLimiter{},
			wantStatus: http.StatusServiceUnavailable,
			wantHeader: http.Header{
				"Cache-Control":  {"no-store"},
				"Content-Length": {"103"},
				"Content-Type":   {"application/json"},
				"Pragma":         {"no-cache"},
				"Retry-After":    {"1"},
			},
			wantBody: `{"error":"temporarily_unavailable","error_description":"the rate limiter is unavailable, retry later"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is answered as before", func(t *testing.T) {
			g, err := NewFailureGuard(FailureOptions{Limiter: tt.limiter, Limit: PerMinute(1, 1)})
			if err != nil {
				t.Fatal(err)
			}
			for range tt.failures {
				if err := g.RecordFailure(context.Background(), "192.0.2.1"); err != nil {
					t.Fatal(err)
				}
			}
			srv := httptest.NewServer(g.Middleware(byHeader)(&recorder{}))
			defer srv.Close()
			status, header, body := post(t, srv.URL+"/oauth/token", "192.0.2.1")
			header.Del("Date")
			if status != tt.wantStatus || !reflect.DeepEqual(header, tt.wantHeader) || body != tt.wantBody {
				t.Fatalf("got %d %v %q,\nwant %d %v %q", status, header, body, tt.wantStatus, tt.wantHeader, tt.wantBody)
			}
		})
	}
}
