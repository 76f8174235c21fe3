package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

func TestSessionsEndedAwayFromTheBrowser(t *testing.T) {
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	const sessions = 3 * maxLogoutDeliveries
	var (
		inFlight, most atomic.Int32
		mu             sync.Mutex
		told           = map[string]int{}
	)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		inFlight.Add(-1)
		sid := logoutTokenSID(t, r.FormValue("logout_token"))
		mu.Lock()
		told[sid]++
		mu.Unlock()
	}))
	defer srv.Close()
	results := make(chan error, sessions)
	p.notifier.client = srv.Client()
	p.notifier.onResult = func(_ string, err error) { results <- err }

	rp := &ports.Client{ID: "rp", Tenant: ports.DefaultTenant, Metadata: []byte(`{"backchannel_logout_uri":"` + srv.URL + `"}`)}
	if err := store.CreateClient(ctx, rp); err != nil {
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
			ClientID: rp.ID, Subject: u.ID, SessionID: id, IssuedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		want[SessionSID(id)] = 1
	}

	if err := p.SetPassword(ctx, u.ID, "a new long passphrase"); err != nil {
		t.Fatal(err)
	}
	t.Run("the relying party is told of no more sessions at once than the bound", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for inFlight.Load() < maxLogoutDeliveries {
			if time.Now().After(deadline) {
				t.Fatalf("%d deliveries in flight after 10 s, want %d", inFlight.Load(), maxLogoutDeliveries)
			}
			time.Sleep(time.Millisecond)
		}
		// A delivery past the bound would start now.
		time.Sleep(50 * time.Millisecond)
		if got := most.Load(); got != maxLogoutDeliveries {
			t.Fatalf("%d deliveries in flight at once, want %d", got, maxLogoutDeliveries)
		}
	})
	close(release)
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
		mu.Lock()
		defer mu.Unlock()
		if !maps.Equal(told, want) {
			t.Fatalf("logout tokens by sid = %v, want one for each of %d sessions", told, sessions)
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
