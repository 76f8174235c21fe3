package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDefaultRateLimits(t *testing.T) {
	s := startServer(t, "sqlite", map[string]string{
		"OAUTH2_RATE_LIMIT_TOKEN": "", "OAUTH2_RATE_LIMIT_USERINFO": "",
		"OAUTH2_RATE_LIMIT_INTERACTIVE": "", "OAUTH2_RATE_LIMIT_REGISTRATION": "",
	})
	t.Run("a burst of sign-in requests from one address meets 429", func(t *testing.T) {
		var limited *http.Response
		for i := 0; i < 40 && limited == nil; i++ {
			resp, err := http.Get(s.issuer + "/oauth/authorize?client_id=demo")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Header.Get("RateLimit-Limit") == "" {
				t.Fatal("a limited route must carry RateLimit-Limit")
			}
			if resp.StatusCode == http.StatusTooManyRequests {
				limited = resp
			}
		}
		if limited == nil {
			t.Fatal("40 requests in a moment passed a 10/s, burst 20 limit")
		}
		if limited.Header.Get("Retry-After") == "" || limited.Header.Get("RateLimit-Remaining") != "0" {
			t.Fatalf("429 headers: %v", limited.Header)
		}
	})
	t.Run("health, readiness and metrics are exempt", func(t *testing.T) {
		for i := 0; i < 30; i++ {
			for _, path := range []string{"/health", "/ready", "/metrics"} {
				resp, err := http.Get(s.issuer + path)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
		}
	})
}

func TestFailedAuthenticationsAreThrottled(t *testing.T) {
	s := startServer(t, "sqlite", nil)
	c := s.register(t, `{"grant_types":["client_credentials"],"scope":"a"}`)
	var last *http.Response
	for i := 0; i < 15; i++ {
		resp, _ := postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, "guess-"+randomHex(4))
		last = resp
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after repeated wrong secrets: %d, want 429 with Retry-After", last.StatusCode)
	}
	// Even the right secret waits now: a guesser cannot learn it succeeded.
	resp, m := postForm(t, s.issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
	if resp.StatusCode != http.StatusTooManyRequests || m["access_token"] != nil {
		t.Fatalf("right secret while blocked: %d %v", resp.StatusCode, m)
	}

	t.Run("repeated wrong passwords block the sign-in form", func(t *testing.T) {
		w := newWebApp(t, s, webClientMetadata)
		b := newBrowser(t, s)
		p := b.get(w.oauth.AuthCodeURL("st", oauthS256(t)))
		for i := 0; i < 15 && p.status != http.StatusTooManyRequests; i++ {
			p = b.login(p, testUser, "wrong password")
		}
		if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed sign-ins") {
			t.Fatalf("got %d", p.status)
		}
	})
}

func TestReplicasShareOneRedisBudget(t *testing.T) {
	redisURL := os.Getenv("OAUTH2_TEST_REDIS_URL")
	if redisURL == "" {
		if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("OAUTH2_TEST_REQUIRE_SERVICES=1 but OAUTH2_TEST_REDIS_URL is not set")
		}
		t.Skip("OAUTH2_TEST_REDIS_URL not set: skipping the shared rate limit test")
	}
	// A budget size of its own keeps this run's Redis keys apart from
	// other runs' (budgets are keyed by their limit).
	budget := 20 + int(time.Now().UnixNano()%200)
	env := map[string]string{
		"OAUTH2_DATABASE_URL":             "sqlite:" + t.TempDir() + "/shared.db",
		"OAUTH2_KEY_ENCRYPTION_KEY":       randomKey(),
		"OAUTH2_REDIS_URL":                redisURL,
		"OAUTH2_RATE_LIMIT_TOKEN":         fmt.Sprintf("%d/h:%d", budget, budget),
		"OAUTH2_RATE_LIMIT_REDIS_FAILURE": "closed",
	}
	first := startServer(t, "sqlite", env)
	second := startServer(t, "sqlite", env)
	// A fresh client: its budget key is new in Redis.
	c := first.register(t, `{"grant_types":["client_credentials"],"scope":"a"}`)

	// Each replica alone would admit up to the budget; together they get
	// more than twice that many requests.
	perWorker := budget/3 + 1
	total := 2 * 3 * perWorker
	var mu sync.Mutex
	admitted, limited := 0, 0
	var wg sync.WaitGroup
	for _, s := range []*testServer{first, second} {
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < perWorker; j++ {
					req, _ := http.NewRequest(http.MethodPost, s.issuer+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(c.ID, c.Secret)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					switch resp.StatusCode {
					case http.StatusOK:
						admitted++
					case http.StatusTooManyRequests:
						limited++
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if admitted > budget || admitted == 0 || admitted+limited != total {
		t.Fatalf("two replicas admitted %d and limited %d of %d requests; one shared budget allows at most %d", admitted, limited, total, budget)
	}
}
