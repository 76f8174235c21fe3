package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/faultproxy"
)

func TestFlowEventsReachRedisStreams(t *testing.T) {
	redisURL := os.Getenv("OAUTH2_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("OAUTH2_TEST_REQUIRE_SERVICES=1 but OAUTH2_TEST_REDIS_URL is not set")
		}
		t.Skip("OAUTH2_TEST_REDIS_URL not set: skipping the event stream test")
	}
	forEachBackendWith(t, map[string]string{"OAUTH2_REDIS_URL": redisURL, "OAUTH2_EVENT_SINKS": "redis"}, func(t *testing.T, s *testServer) {
		w := newWebApp(t, s, webClientMetadata)
		tok := w.exchange(t, w.authorize(t, newBrowser(t, s)))
		revoke(t, s, w.client, tok.RefreshToken)

		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		want := []string{ports.EventClientRegistered, ports.EventLoginSucceeded, ports.EventConsentGranted,
			ports.EventCodeIssued, ports.EventCodeRedeemed, ports.EventTokenIssued, ports.EventTokenRevoked}
		deadline := time.Now().Add(10 * time.Second)
		for {
			msgs, err := rdb.XRevRangeN(context.Background(), "oauth2:events", "+", "-", 2000).Result()
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			ids := map[string]bool{}
			loginUser := ""
			for _, m := range msgs {
				var ev ports.Event
				if err := json.Unmarshal([]byte(m.Values["event"].(string)), &ev); err != nil {
					t.Fatalf("stream entry is not an event: %v", m.Values)
				}
				if ev.ClientID == w.client.ID {
					seen[ev.Type]++
					if ids[ev.ID] {
						t.Fatalf("event %s appears twice", ev.ID)
					}
					ids[ev.ID] = true
					if ev.Type == ports.EventCodeIssued {
						loginUser = ev.Subject
					}
				}
				if ev.Type == ports.EventLoginSucceeded && ev.Subject == loginUser && loginUser != "" {
					seen[ev.Type]++
				}
			}
			missing := ""
			for _, typ := range want {
				if seen[typ] == 0 {
					missing = typ
				}
			}
			if missing == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s event for the flow in the stream; saw %v", missing, seen)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestEventsSurviveASinkOutage(t *testing.T) {
	redisURL := os.Getenv("OAUTH2_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("OAUTH2_TEST_REQUIRE_SERVICES=1 but OAUTH2_TEST_REDIS_URL is not set")
		}
		t.Skip("OAUTH2_TEST_REDIS_URL not set: skipping the event outage test")
	}
	direct, err := url.Parse(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range backends(t) {
		t.Run(b, func(t *testing.T) {
			proxy := faultproxy.New(t, direct.Host)
			viaProxy := *direct
			viaProxy.Host = proxy.Addr()
			s := startServer(t, b, map[string]string{"OAUTH2_REDIS_URL": viaProxy.String(), "OAUTH2_EVENT_SINKS": "redis"})
			w := newWebApp(t, s, webClientMetadata)

			// The sink goes away in the middle of the flow: first it
			// refuses connections, then it takes them and answers nothing.
			proxy.SetMode(faultproxy.Refuse)
			a := w.authorize(t, newBrowser(t, s))
			proxy.SetMode(faultproxy.BlackHole)
			w.exchange(t, a)
			proxy.SetMode(faultproxy.Pass)

			opts, _ := redis.ParseURL(redisURL)
			rdb := redis.NewClient(opts)
			defer rdb.Close()
			want := []string{ports.EventClientRegistered, ports.EventConsentGranted, ports.EventCodeIssued, ports.EventCodeRedeemed, ports.EventTokenIssued}
			deadline := time.Now().Add(30 * time.Second)
			for {
				msgs, err := rdb.XRevRangeN(context.Background(), "oauth2:events", "+", "-", 2000).Result()
				if err != nil {
					t.Fatal(err)
				}
				perID := map[string]int{}
				seen := map[string]bool{}
				for _, m := range msgs {
					var ev ports.Event
					_ = json.Unmarshal([]byte(m.Values["event"].(string)), &ev)
					if ev.ClientID == w.client.ID {
						perID[ev.ID]++
						seen[ev.Type] = true
					}
				}
				all := true
				for _, typ := range want {
					all = all && seen[typ]
				}
				if all {
					// At least once: a resend after a lost reply may repeat an id,
					// which consumers drop; nothing is missing.
					t.Logf("%d events of the flow arrived after the outage", len(perID))
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("events lost across the sink outage: saw %v", seen)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}
