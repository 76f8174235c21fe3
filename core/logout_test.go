package core

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestBackchannelLogoutDelivery(t *testing.T) {
	tests := []struct {
		name      string
		failFirst int32
		wantErr   bool
		wantCalls int32
	}{
		{name: "a relying party that answers at once gets one request", failFirst: 0, wantCalls: 1},
		{name: "a relying party that is briefly down gets the token on a retry", failFirst: 2, wantCalls: 3},
		{name: "a relying party that stays down is given up on after the last attempt", failFirst: 100, wantErr: true, wantCalls: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if r.FormValue("logout_token") != "tok" {
					t.Errorf("logout_token = %q", r.FormValue("logout_token"))
				}
				if n <= tc.failFirst {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			defer srv.Close()
			var result error
			n := &notifier{client: srv.Client(), attempts: 4, backoff: time.Millisecond,
				onResult: func(_ string, err error) { result = err }}
			n.notify(srv.URL, "tok")
			if got := calls.Load(); got != tc.wantCalls {
				t.Fatalf("%d requests, want %d", got, tc.wantCalls)
			}
			if (result != nil) != tc.wantErr {
				t.Fatalf("result = %v, want error %v", result, tc.wantErr)
			}
		})
	}
}
