package app

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
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
	client := newOutbound(nil).client()

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

func TestCalledClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

	tests := []struct {
		name    string
		private []netip.Prefix
		url     string
		wantErr string // part of the error; "" when the call succeeds
	}{
		{name: "a loopback IP is refused", url: srv.URL, wantErr: "127.0.0.1 is not a public address, and OAUTH2_OUTBOUND_PRIVATE_NETWORKS does not name it"},
		{name: "a name that resolves to loopback is refused", url: "http://localhost:" + port, wantErr: "is not a public address"},
		{name: "a network the operator named is reached", private: loopback, url: srv.URL},
		{name: "a name leading into a named network is reached", private: loopback, url: "http://localhost:" + port},
		{name: "another private network does not open loopback", private: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, url: srv.URL, wantErr: "is not a public address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh outbound each time: refusals count against the host's
			// breaker.
			client := newOutbound(nil).calledClient(tt.private)
			resp, err := client.Get(tt.url)
			if err == nil {
				resp.Body.Close()
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("GET %s with networks %v: %v, want error %q", tt.url, tt.private, err, tt.wantErr)
			}
		})
	}
}

func TestRequestURIClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("object"))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	tests := []struct {
		name    string
		hosts   []string
		url     string
		wantErr string // part of the error; "" when the fetch succeeds
	}{
		{name: "a listed IP literal is reached even on loopback", hosts: []string{"127.0.0.1:" + port}, url: srv.URL},
		{name: "a listed name that resolves to loopback is refused", hosts: []string{"localhost:" + port}, url: "https://localhost:" + port, wantErr: "not a public address"},
		{name: "a host off the list is refused", hosts: []string{"127.0.0.1:1"}, url: srv.URL, wantErr: "not on the request_uri allow-list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newOutbound(roots).requestURIClient(tt.hosts)
			resp, err := client.Get(tt.url)
			if err == nil {
				resp.Body.Close()
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("GET %s with allow-list %v: %v, want error %q", tt.url, tt.hosts, err, tt.wantErr)
			}
		})
	}
	t.Run("without the test roots the certificate is not trusted", func(t *testing.T) {
		if _, err := newOutbound(nil).requestURIClient([]string{"127.0.0.1:" + port}).Get(srv.URL); err == nil {
			t.Fatal("a self-signed certificate was trusted")
		}
	})
}

// hungSink takes a batch and never answers, as a sink behind a black hole.
type hungSink struct{ sends atomic.Int32 }

func (*hungSink) Name() string { return "hung" }

func (s *hungSink) Send(ctx context.Context, _ []ports.Event) error {
	s.sends.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// TestSinkBreakerOpensOnAHungSink: a sink that stops answering is cut off
// by its own send bound, which counts against its breaker, so after five
// batches the relay's sends fail at once instead of each waiting out the
// relay's deadline.
func TestSinkBreakerOpensOnAHungSink(t *testing.T) {
	hung := &hungSink{}
	s := breakerSink{Sink: hung, b: resilience.NewBreaker(resilience.BreakerSettings{Name: "sink_hung"}), timeout: 20 * time.Millisecond}
	for range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err := s.Send(ctx, nil)
		cancel()
		if !errors.Is(err, resilience.ErrUnavailable) {
			t.Fatalf("a hung send: %v, want ErrUnavailable", err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Send(ctx, nil); !errors.Is(err, resilience.ErrUnavailable) {
		t.Fatalf("after five hung sends: %v, want ErrUnavailable", err)
	}
	if hung.sends.Load() != 5 {
		t.Fatalf("the sink got %d sends; the open breaker should have kept the sixth from it", hung.sends.Load())
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the sixth send took %v; an open breaker answers at once", d)
	}
}
