package e2e

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// TestShutdownDrain stops a server as SIGTERM does and checks what a load
// balancer in front of it sees: /ready fails first, while requests are
// still served, and only after the drain does the listener close.
func TestShutdownDrain(t *testing.T) {
	const drain = 4 * time.Second
	s := startServer(t, "sqlite", map[string]string{"OAUTH2_SHUTDOWN_DRAIN": drain.String()})
	c := s.register(t, `{"grant_types":["client_credentials"]}`)
	cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token"}
	status := func(path string) (int, error) {
		resp, err := http.Get(s.issuer + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := status("/ready"); err != nil || code != http.StatusOK {
		t.Fatalf("/ready before shutdown: %d %v", code, err)
	}

	stopped := time.Now()
	s.shutdown()

	t.Run("readiness turns 503 at once", func(t *testing.T) {
		deadline := time.Now().Add(drain / 2)
		for {
			code, err := status("/ready")
			if err != nil {
				t.Fatalf("/ready during the drain: %v (the listener closed before load balancers could notice)", err)
			}
			if code == http.StatusServiceUnavailable {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/ready still answers %d after the shutdown began", code)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	t.Run("requests are still served while /ready fails", func(t *testing.T) {
		if _, err := cc.Token(context.Background()); err != nil {
			t.Fatalf("token request during the drain: %v", err)
		}
		if code, err := status("/health"); err != nil || code != http.StatusOK {
			t.Fatalf("/health during the drain: %d %v", code, err)
		}
	})
	t.Run("the listener closes after the drain", func(t *testing.T) {
		deadline := time.Now().Add(drain + 30*time.Second)
		for {
			conn, err := net.DialTimeout("tcp", s.addr, time.Second)
			if err != nil {
				break
			}
			conn.Close()
			if time.Now().After(deadline) {
				t.Fatal("the listener is still open long after the drain")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if closed := time.Since(stopped); closed < drain {
			t.Fatalf("the listener closed %v after the shutdown began, before the %v drain ended", closed, drain)
		}
	})
}
