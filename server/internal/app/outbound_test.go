package app

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"oauth2-server.dev/ports"
)

func TestOutboundBreaker(t *testing.T) {
	var calls atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer down.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	client := newOutboundClient()

	t.Run("a failing host's answers still reach the caller until the breaker opens", func(t *testing.T) {
		for i := 0; i < 5; i++ {
			resp, err := client.Get(down.URL)
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	t.Run("then calls to that host fail at once without reaching it", func(t *testing.T) {
		before := calls.Load()
		_, err := client.Get(down.URL)
		if !errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("err = %v, want unavailable", err)
		}
		if calls.Load() != before {
			t.Fatal("an open breaker still called the host")
		}
	})
	t.Run("other hosts are not affected", func(t *testing.T) {
		resp, err := client.Get(up.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}
