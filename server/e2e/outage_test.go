package e2e

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports/faultproxy"
)

// drillResult is what the clients saw in one phase of a drill.
type drillResult struct {
	statuses map[int]int
	latency  []time.Duration
}

func (r drillResult) count() int { return len(r.latency) }

func (r drillResult) max() time.Duration { return slices.Max(r.latency) }

func (r drillResult) median() time.Duration {
	l := slices.Clone(r.latency)
	slices.Sort(l)
	return l[len(l)/2]
}

// drillLoad sends client_credentials requests from eight clients, each
// pausing 25 ms between requests, until stop closes. Eight, more than the
// five failures in a row that open the store breaker: with fewer, the
// first wave of requests waiting out the store deadline would not open it,
// and the drill would measure the deadline instead of the breaker.
func drillLoad(t *testing.T, s *testServer, c registered, stop <-chan struct{}) drillResult {
	t.Helper()
	// A hang fails the request instead of stalling the drill.
	client := &http.Client{Timeout: 15 * time.Second}
	res := drillResult{statuses: map[int]int{}}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(25 * time.Millisecond):
				}
				req, _ := http.NewRequest(http.MethodPost, s.issuer+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(c.ID, c.Secret)
				start := time.Now()
				status := 0
				if resp, err := client.Do(req); err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
					if status == http.StatusServiceUnavailable && (!strings.Contains(string(body), "temporarily_unavailable") || resp.Header.Get("Retry-After") == "") {
						t.Errorf("a 503 without temporarily_unavailable and Retry-After: %s", body)
					}
				}
				d := time.Since(start)
				mu.Lock()
				res.statuses[status]++
				res.latency = append(res.latency, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return res
}

// runFor runs drillLoad for d.
func runFor(t *testing.T, s *testServer, c registered, d time.Duration) drillResult {
	t.Helper()
	stop := make(chan struct{})
	time.AfterFunc(d, func() { close(stop) })
	return drillLoad(t, s, c, stop)
}

// TestOutageDrills takes the store and Redis away under load, refusing
// connections and then accepting them and answering nothing, and checks
// what the clients see: a store outage is answered 503 within the store's
// 2 s deadline and soon at once, a Redis outage is not seen at all (local
// rate limits), and both recover by themselves. The figures go to the
// test log; docs/reliability.md keeps a run of them.
func TestOutageDrills(t *testing.T) {
	pg, redisURL := os.Getenv("OAUTH2_TEST_POSTGRES_URL"), os.Getenv("OAUTH2_TEST_REDIS_URL")
	if pg == "" || redisURL == "" {
		if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("OAUTH2_TEST_REQUIRE_SERVICES=1 but OAUTH2_TEST_POSTGRES_URL or OAUTH2_TEST_REDIS_URL is not set")
		}
		t.Skip("the outage drills need OAUTH2_TEST_POSTGRES_URL and OAUTH2_TEST_REDIS_URL")
	}
	const outage = 3 * time.Second
	tests := []struct {
		name       string
		dependency string // "store" or "redis"
		mode       faultproxy.Mode
	}{
		{"PostgreSQL refuses connections", "store", faultproxy.Refuse},
		{"PostgreSQL stops answering", "store", faultproxy.BlackHole},
		{"Redis refuses connections", "redis", faultproxy.Refuse},
		{"Redis stops answering", "redis", faultproxy.BlackHole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbURL, err := url.Parse(databaseURL(t, "postgres"))
			if err != nil {
				t.Fatal(err)
			}
			rURL, err := url.Parse(redisURL)
			if err != nil {
				t.Fatal(err)
			}
			var proxy *faultproxy.Proxy
			if tt.dependency == "store" {
				proxy = faultproxy.New(t, dbURL.Host)
				dbURL.Host = proxy.Addr()
			} else {
				proxy = faultproxy.New(t, rURL.Host)
				rURL.Host = proxy.Addr()
			}
			s := startServer(t, "postgres", map[string]string{
				"OAUTH2_DATABASE_URL": dbURL.String(), "OAUTH2_REDIS_URL": rURL.String(),
				"OAUTH2_RATE_LIMIT_REDIS_FAILURE": "local",
			})
			c := s.register(t, `{"grant_types":["client_credentials"],"scope":"a"}`)
			before := runFor(t, s, c, 500*time.Millisecond)
			if before.statuses[http.StatusOK] != before.count() {
				t.Fatalf("before the outage: %v", before.statuses)
			}

			proxy.SetMode(tt.mode)
			during := runFor(t, s, c, outage)
			ready := getStatus(t, s.issuer+"/ready")
			trips := counterValue(t, s, "oauth2_breaker_trips_total", map[string]string{"name": map[string]string{"store": "store", "redis": "redis_ratelimit"}[tt.dependency]})

			proxy.SetMode(faultproxy.Pass)
			restored := time.Now()
			var recovered time.Duration
			for recovered == 0 && time.Since(restored) < 30*time.Second {
				if res := runFor(t, s, c, 100*time.Millisecond); res.statuses[http.StatusOK] == res.count() && getStatus(t, s.issuer+"/ready") == http.StatusOK {
					recovered = time.Since(restored)
				}
			}
			after := runFor(t, s, c, 500*time.Millisecond)

			t.Logf("%s: %d requests in %v of outage: statuses %v, median %v, slowest %v; breaker trips %v; /ready %d; recovered %v after the dependency returned; after: %v",
				tt.name, during.count(), outage, during.statuses, during.median().Round(time.Millisecond), during.max().Round(time.Millisecond),
				trips, ready, recovered.Round(time.Millisecond), after.statuses)

			if recovered == 0 {
				t.Fatalf("not recovered 30 s after the dependency returned")
			}
			if after.statuses[http.StatusOK] != after.count() {
				t.Errorf("after recovery: %v", after.statuses)
			}
			if trips == 0 {
				t.Errorf("the %s breaker never opened", tt.dependency)
			}
			switch tt.dependency {
			case "store":
				// The README: 503 at once once the breaker is open, and no
				// call waits past the store's 2 s deadline.
				if during.statuses[http.StatusServiceUnavailable] == 0 || during.statuses[http.StatusServiceUnavailable]+during.statuses[http.StatusOK] != during.count() {
					t.Errorf("during the store outage: %v, want 503s (and 200s only for requests already answered)", during.statuses)
				}
				if during.max() > 3500*time.Millisecond {
					t.Errorf("a request waited %v, past the store's 2 s deadline", during.max())
				}
				if during.median() > time.Second {
					t.Errorf("median %v: the breaker should answer most requests at once", during.median())
				}
				if ready != http.StatusServiceUnavailable {
					t.Errorf("/ready during the store outage: %d, want 503", ready)
				}
			case "redis":
				// Local limits take over: the clients see nothing.
				if during.statuses[http.StatusOK] != during.count() {
					t.Errorf("during the Redis outage: %v, want every request served", during.statuses)
				}
				if during.max() > time.Second {
					t.Errorf("a request waited %v; a rate-limit check is bounded by 100 ms", during.max())
				}
			}
		})
	}
}

func getStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
