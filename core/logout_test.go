package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"oauth2-server.dev/ports"
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

// TestDeliveriesStopRetryingAtShutdown: once the server begins to shut
// down, a delivery to a relying party that is down is reported instead of
// retried, so that its pauses (an hour here) do not hold the shutdown;
// one the last requests started is still made once.
func TestDeliveriesStopRetryingAtShutdown(t *testing.T) {
	tests := []struct {
		name string
		// early closes the shutdown before the delivery starts, instead
		// of after its first attempt.
		early bool
	}{
		{name: "a delivery waiting to retry when the server shuts down is not retried"},
		{name: "a delivery started while the server shuts down is made once", early: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			seen := make(chan struct{}, 4)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				seen <- struct{}{}
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			defer srv.Close()
			shutdown := make(chan struct{})
			result := make(chan error, 1)
			n := &notifier{client: srv.Client(), attempts: 4, backoff: time.Hour, shutdown: shutdown,
				onResult: func(_ string, err error) { result <- err }}
			if tc.early {
				close(shutdown)
			}
			go n.notify(srv.URL, "tok")
			<-seen
			if !tc.early {
				close(shutdown)
			}
			select {
			case err := <-result:
				if err == nil || !strings.Contains(err.Error(), "shutting down") {
					t.Fatalf("delivery result = %v, want a failure saying the server is shutting down", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the delivery still waits to retry 10 s after the shutdown began")
			}
			if got := calls.Load(); got != 1 {
				t.Fatalf("%d requests, want 1", got)
			}
		})
	}
	t.Run("a deleted client's tokens are revoked the second time at once", func(t *testing.T) {
		ctx := context.Background()
		p, store := newTestProvider(t, Config{})
		shutdown := make(chan struct{})
		p.background.shutdown = shutdown
		if err := store.CreateClient(ctx, &ports.Client{ID: "gone", Tenant: ports.DefaultTenant}); err != nil {
			t.Fatal(err)
		}
		if err := p.DeleteClient(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		// Issued meanwhile by a replica that still had the client cached.
		late := &ports.Token{ID: "late", Tenant: ports.DefaultTenant, Kind: ports.TokenAccess, ClientID: "gone",
			IssuedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}
		if err := store.CreateTokens(ctx, []*ports.Token{late}); err != nil {
			t.Fatal(err)
		}
		close(shutdown)
		budget, cancel := context.WithTimeout(ctx, clientCacheTTL/2)
		defer cancel()
		if err := p.Drain(budget); err != nil {
			t.Fatalf("Drain within %v of the shutdown: %v", clientCacheTTL/2, err)
		}
		if tok, err := store.GetToken(ctx, ports.DefaultTenant, "late"); err != nil || tok.RevokedAt == nil {
			t.Fatalf("the token issued after the deletion: %+v, %v; want it revoked", tok, err)
		}
	})
}

// blockingRP is a relying party's back-channel logout endpoint that holds
// every delivery until release is closed, then records its sid.
type blockingRP struct {
	srv            *httptest.Server
	release        chan struct{}
	inFlight, most atomic.Int32
	mu             sync.Mutex
	told           map[string]int
}

func newBlockingRP(t *testing.T) *blockingRP {
	rp := &blockingRP{release: make(chan struct{}), told: map[string]int{}}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rp.inFlight.Add(1)
		for m := rp.most.Load(); n > m && !rp.most.CompareAndSwap(m, n); m = rp.most.Load() {
		}
		<-rp.release
		rp.inFlight.Add(-1)
		sid := logoutTokenSID(t, r.FormValue("logout_token"))
		rp.mu.Lock()
		rp.told[sid]++
		rp.mu.Unlock()
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

// signedInUser registers the relying party of rp as client "rp", adds a
// user with sessions sessions, each holding a refresh token of "rp", and
// returns the user's id and one logout per session's sid.
func signedInUser(t *testing.T, p *Provider, store *testStore, rp *blockingRP, sessions int) (string, map[string]int) {
	ctx := context.Background()
	p.notifier.client = rp.srv.Client()
	c := &ports.Client{ID: "rp", Tenant: ports.DefaultTenant, Metadata: []byte(`{"backchannel_logout_uri":"` + rp.srv.URL + `"}`)}
	if err := store.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	u, err := p.AddUser(ctx, NewUser{Username: "ada", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for i := range sessions {
		id := fmt.Sprintf("session-%02d", i)
		if err := store.CreateSession(ctx, &ports.Session{ID: id, Tenant: ports.DefaultTenant, UserID: u.ID,
			AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateTokens(ctx, []*ports.Token{{ID: "token-" + id, Tenant: ports.DefaultTenant, Kind: ports.TokenRefresh,
			ClientID: c.ID, Subject: u.ID, SessionID: id, IssuedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		want[SessionSID(id)] = 1
	}
	return u.ID, want
}

func TestSessionsEndedAwayFromTheBrowser(t *testing.T) {
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	const sessions = 3 * maxLogoutDeliveries
	rp := newBlockingRP(t)
	results := make(chan error, sessions)
	p.notifier.onResult = func(_ string, err error) { results <- err }
	userID, want := signedInUser(t, p, store, rp, sessions)

	if err := p.SetPassword(ctx, userID, "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	t.Run("the relying party is told of no more sessions at once than the bound", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for rp.inFlight.Load() < maxLogoutDeliveries {
			if time.Now().After(deadline) {
				t.Fatalf("%d deliveries in flight after 10 s, want %d", rp.inFlight.Load(), maxLogoutDeliveries)
			}
			time.Sleep(time.Millisecond)
		}
		// A delivery past the bound would start now.
		time.Sleep(50 * time.Millisecond)
		if got := rp.most.Load(); got != maxLogoutDeliveries {
			t.Fatalf("%d deliveries in flight at once, want %d", got, maxLogoutDeliveries)
		}
	})
	close(rp.release)
	t.Run("every ended session is told once", func(t *testing.T) {
		for range sessions {
			select {
			case err := <-results:
				if err != nil {
					t.Fatalf("a delivery failed: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("deliveries still missing after 10 s")
			}
		}
		rp.mu.Lock()
		defer rp.mu.Unlock()
		if !maps.Equal(rp.told, want) {
			t.Fatalf("logout tokens by sid = %v, want one for each of %d sessions", rp.told, sessions)
		}
	})
}

func TestDrainWaitsForLogoutDeliveries(t *testing.T) {
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	rp := newBlockingRP(t)
	userID, want := signedInUser(t, p, store, rp, 2)
	if err := p.DeleteUser(ctx, userID); err != nil {
		t.Fatal(err)
	}

	t.Run("a drain that runs out of time says what is still running", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		err := p.Drain(short)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still running") {
			t.Fatalf("Drain with deliveries held = %v, want a deadline error saying what still runs", err)
		}
	})
	t.Run("a drain returns once every delivery has been made", func(t *testing.T) {
		close(rp.release)
		if err := p.Drain(ctx); err != nil {
			t.Fatalf("Drain: %v", err)
		}
		rp.mu.Lock()
		defer rp.mu.Unlock()
		if !maps.Equal(rp.told, want) {
			t.Fatalf("when Drain returned the relying party had logout tokens by sid %v, want %v", rp.told, want)
		}
	})
	t.Run("a drain with nothing running returns at once", func(t *testing.T) {
		done, cancel := context.WithCancel(ctx)
		cancel()
		if err := p.Drain(done); err != nil {
			t.Fatalf("Drain with nothing running: %v", err)
		}
	})
}

// logoutTokenSID is the sid claim of a logout token, unverified.
func logoutTokenSID(t *testing.T, token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Errorf("logout token %q is not a compact JWS", token)
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Errorf("logout token payload: %v", err)
		return ""
	}
	var claims struct {
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Errorf("logout token claims: %v", err)
	}
	return claims.Sid
}
