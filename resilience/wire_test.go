package resilience

import (
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
	tests := []struct {
		name       string
		middleware func(http.Handler) http.Handler
		wantHeader http.Header
		wantBody   string
	}{
		{
			name:       "a full bulkhead",
			middleware: Bulkhead(BulkheadOptions{Group: "token", MaxConcurrent: 1, RetryAfter: 2500 * time.Millisecond}),
			wantHeader: http.Header{
				"Cache-Control":  {"no-store"},
				"Content-Length": {"90"},
				"Content-Type":   {"application/json"},
				"Pragma":         {"no-cache"},
				"Retry-After":    {"3"},
			},
			wantBody: `{"error":"temporarily_unavailable","error_description":"the server is busy, retry later"}` + "\n",
		},
		{
			name:       "a server shedding load",
			middleware: Shed(ShedOptions{MaxInFlight: 1}),
			wantHeader: http.Header{
				"Cache-Control":  {"no-store"},
				"Content-Length": {"96"},
				"Content-Type":   {"application/json"},
				"Pragma":         {"no-cache"},
				"Retry-After":    {"1"},
			},
			wantBody: `{"error":"temporarily_unavailable","error_description":"the server is overloaded, retry later"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is answered as before", func(t *testing.T) {
			hh := newHoldingHandler()
			h := tt.middleware(hh)
			release := occupy(t, h, hh, 1)
			defer release()
			srv := httptest.NewServer(h)
			defer srv.Close()
			res, err := http.Post(srv.URL+"/oauth/token", "application/x-www-form-urlencoded", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			res.Header.Del("Date")
			if res.StatusCode != http.StatusServiceUnavailable || !reflect.DeepEqual(res.Header, tt.wantHeader) || string(body) != tt.wantBody {
				t.Fatalf("got %d %v %q,\nwant 503 %v %q", res.StatusCode, res.Header, body, tt.wantHeader, tt.wantBody)
			}
		})
	}
}

// TestInjectedErrorWriter: a server that writes its errors its own way
// has every refusal written by it, with the refusal's status, code and
// wait.
func TestInjectedErrorWriter(t *testing.T) {
	var got []oautherr.Response
	write := func(w http.ResponseWriter, res oautherr.Response) {
		got = append(got, res)
		w.WriteHeader(res.Status)
	}
	tests := []struct {
		name       string
		middleware func(http.Handler) http.Handler
		want       oautherr.Response
	}{
		{"a full bulkhead", Bulkhead(BulkheadOptions{MaxConcurrent: 1, RetryAfter: 2 * time.Second, WriteError: write}),
			oautherr.Response{Status: http.StatusServiceUnavailable, Code: oautherr.TemporarilyUnavailable, Description: "the server is busy, retry later", RetryAfter: 2 * time.Second}},
		{"a server shedding load", Shed(ShedOptions{MaxInFlight: 1, WriteError: write}),
			oautherr.Response{Status: http.StatusServiceUnavailable, Code: oautherr.TemporarilyUnavailable, Description: "the server is overloaded, retry later", RetryAfter: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is written by the injected writer", func(t *testing.T) {
			got = nil
			hh := newHoldingHandler()
			h := tt.middleware(hh)
			release := occupy(t, h, hh, 1)
			defer release()
			rec := serve(h, "/oauth/token")
			if len(got) != 1 || got[0] != tt.want {
				t.Fatalf("writer called with %+v, want once with %+v", got, tt.want)
			}
			if rec.Code != tt.want.Status || rec.Body.Len() != 0 {
				t.Fatalf("response %d %q, want only what the writer wrote", rec.Code, rec.Body)
			}
		})
	}
}
