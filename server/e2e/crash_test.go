package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// buildServer builds the oauth2-server command for the test.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "oauth2-server")
	out, err := exec.Command("go", "build", "-o", bin, "oauth2-server.dev/server/cmd/oauth2-server").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is the server command running in a process of its own, so that
// a test can kill it as the kernel would.
type process struct {
	*testServer
	bin    string
	env    []string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

func startProcess(t *testing.T, backend string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	issuer := "http://" + addr
	regToken := "initial-access-token-" + randomKey()[:16]
	p := &process{testServer: &testServer{issuer: issuer, regToken: regToken, addr: addr}, bin: buildServer(t)}
	p.env = append(os.Environ(),
		"OAUTH2_ADDR="+addr,
		"OAUTH2_ISSUER="+issuer,
		"OAUTH2_DATABASE_URL="+databaseURL(t, backend),
		"OAUTH2_KEY_ENCRYPTION_KEY="+randomKey(),
		"OAUTH2_SEED_USERNAME="+testUser,
		"OAUTH2_SEED_PASSWORD="+testPassword,
		"OAUTH2_REGISTRATION_TOKEN="+regToken,
		"OAUTH2_EVENT_SINKS=none",
		"OAUTH2_LOG_LEVEL=warn",
		"OAUTH2_RATE_LIMIT_TOKEN=10000/s:10000",
		"OAUTH2_RATE_LIMIT_USERINFO=10000/s:10000",
		"OAUTH2_RATE_LIMIT_INTERACTIVE=10000/s:10000",
		"OAUTH2_RATE_LIMIT_REGISTRATION=10000/s:10000",
	)
	p.start(t)
	t.Cleanup(func() { p.kill(t) })
	return p
}

// start runs the command and waits until it is ready.
func (p *process) start(t *testing.T) {
	t.Helper()
	p.stderr = &bytes.Buffer{}
	p.cmd = exec.Command(p.bin, "serve")
	p.cmd.Env = p.env
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.issuer + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.kill(t)
	t.Fatalf("the server did not become ready:\n%s", p.stderr)
}

// kill sends SIGKILL: no shutdown, no flush, as a crash or an OOM kill.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
	http.DefaultClient.CloseIdleConnections()
}

// chain is one client's refresh-token rotations, as far as the server
// acknowledged them.
type chain struct {
	w *webApp
	// acked holds the tokens of every rotation answered with 200, in
	// order; acked[0] came from the code.
	acked []*oauth2.Token
}

// TestCrashesLoseNothingAcknowledged kills the server with SIGKILL while
// clients rotate refresh tokens and register, starts it again on the same
// store, and checks every answer the clients got: each token and client
// acknowledged exists and works, and no rotated refresh token is valid.
func TestCrashesLoseNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server command")
	}
	const (
		kills  = 4
		chains = 6
	)
	for _, backend := range backends(t) {
		if backend == "mongo" {
			// mongotest's FerretDB runs inside this test binary and
			// gives no durability to drill.
			continue
		}
		t.Run(backend, func(t *testing.T) {
			p := startProcess(t, backend)
			var totalRotations, totalClients int
			for kill := range kills {
				ctx, stop := context.WithCancel(context.Background())
				cs := make([]*chain, chains)
				for i := range cs {
					w := newWebApp(t, p.testServer, webClientMetadata)
					cs[i] = &chain{w: w, acked: []*oauth2.Token{w.exchange(t, w.authorize(t, newBrowser(t, p.testServer)))}}
				}
				var (
					wg      sync.WaitGroup
					mu      sync.Mutex
					clients []registered
					calls   atomic.Int64
				)
				for _, c := range cs {
					wg.Go(func() {
						for ctx.Err() == nil {
							last := c.acked[len(c.acked)-1]
							tok, err := c.w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: last.RefreshToken}).Token()
							calls.Add(1)
							if err != nil {
								return
							}
							c.acked = append(c.acked, tok)
						}
					})
				}
				for range 2 {
					wg.Go(func() {
						for ctx.Err() == nil {
							req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.issuer+"/oauth/register",
								strings.NewReader(`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}`))
							req.Header.Set("Content-Type", "application/json")
							req.Header.Set("Authorization", "Bearer "+p.regToken)
							resp, err := http.DefaultClient.Do(req)
							calls.Add(1)
							if err != nil {
								return
							}
							body, err := io.ReadAll(resp.Body)
							resp.Body.Close()
							if err != nil || resp.StatusCode != http.StatusCreated {
								return
							}
							var c registered
							if json.Unmarshal(body, &c.Raw) != nil {
								return
							}
							c.ID, _ = c.Raw["client_id"].(string)
							c.Secret, _ = c.Raw["client_secret"].(string)
							mu.Lock()
							clients = append(clients, c)
							mu.Unlock()
						}
					})
				}
				// Kill at a moment the clients cannot predict, mid-request.
				for calls.Load() < 20 {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Duration(50+rand.IntN(250)) * time.Millisecond)
				p.kill(t)
				stop()
				wg.Wait()
				p.start(t)

				for _, c := range clients {
					resp, m := postForm(t, p.issuer+"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, c.ID, c.Secret)
					if resp.StatusCode != http.StatusOK {
						t.Errorf("kill %d: client %s was acknowledged but after the restart: %d %v", kill, c.ID, resp.StatusCode, m)
					}
				}
				for i, c := range cs {
					last := c.acked[len(c.acked)-1]
					if _, m := introspect(t, p.testServer, c.w.client, last.AccessToken); m["active"] != true {
						t.Errorf("kill %d, chain %d: the access token of acknowledged rotation %d is lost: %v", kill, i, len(c.acked)-1, m)
					}
					if len(c.acked) < 2 {
						continue
					}
					// RFC 9700 §4.14.2: a rotated refresh token is refused,
					// and presenting it revokes the family.
					_, err := c.w.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: c.acked[len(c.acked)-2].RefreshToken}).Token()
					if err == nil {
						t.Errorf("kill %d, chain %d: a refresh token rotated before the crash was accepted again", kill, i)
					} else if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
						t.Errorf("kill %d, chain %d: a rotated refresh token: %q, want invalid_grant", kill, i, re.ErrorCode)
					}
					if _, m := introspect(t, p.testServer, c.w.client, last.AccessToken); m["active"] != false {
						t.Errorf("kill %d, chain %d: the family of a replayed refresh token is still active", kill, i)
					}
					totalRotations += len(c.acked) - 1
				}
				totalClients += len(clients)
			}
			t.Logf("%s: %d SIGKILLs; %d acknowledged rotations and %d acknowledged registrations all survived", backend, kills, totalRotations, totalClients)
		})
	}
}
