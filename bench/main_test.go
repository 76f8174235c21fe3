package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/bench/internal/report"
	"oauth2-server.dev/bench/internal/scenario"
)

// runningServer builds the real oauth2-server from this workspace and
// starts it as an operator would outside dev mode, on a free loopback port
// with a fresh SQLite database.
type runningServer struct {
	url, regToken, user, password string
	pid                           int
}

func startServer(t *testing.T) runningServer {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the server with")
	}
	serverDir := filepath.Join("..", "server")
	if _, err := os.Stat(filepath.Join(serverDir, "cmd", "oauth2-server")); err != nil {
		t.Skip("the server's sources are not beside bench/")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "oauth2-server")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/oauth2-server")
	build.Dir = serverDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the server: %v\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s := runningServer{
		url: "http://" + addr, regToken: "bench-initial-access-token-" + randomString(12),
		user: "bench", password: "bench password " + randomString(6),
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(withoutOAuth2Vars(os.Environ()),
		"OAUTH2_ISSUER="+s.url,
		"OAUTH2_ADDR="+addr,
		"OAUTH2_DATABASE_URL=sqlite:"+filepath.Join(dir, "oauth2.db"),
		"OAUTH2_KEY_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(key),
		"OAUTH2_SEED_USERNAME="+s.user,
		"OAUTH2_SEED_PASSWORD="+s.password,
		"OAUTH2_REGISTRATION_TOKEN="+s.regToken,
		"OAUTH2_LOG_LEVEL=error",
		// The benchmark sends bursts from one address; a limiter would
		// answer them with 429.
		"OAUTH2_RATE_LIMIT=0",
	)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})
	s.pid = cmd.Process.Pid

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server is not ready after 30s: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withoutOAuth2Vars drops the caller's OAUTH2_* settings, which would
// otherwise reach the server under test.
func withoutOAuth2Vars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "OAUTH2_") {
			out = append(out, kv)
		}
	}
	return out
}

// runBench runs the benchmark against s with args and returns its JSON
// report, decoded and as written, and its table.
func runBench(t *testing.T, s runningServer, args ...string) (report.Report, []byte, string) {
	t.Helper()
	jsonPath := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{
		"-url", s.url, "-registration-token", s.regToken, "-username", s.user, "-password", s.password,
		"-json", jsonPath,
	}, args...), &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep, b, stdout.String()
}

func TestBenchmarkAgainstTheRealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server; skipped with -short")
	}
	s := startServer(t)
	rep, _, stdout := runBench(t, s, "-c", "2", "-d", "300ms", "-codes", "400", "-code-prep", "10s", "-scenarios", "all")
	t.Logf("\n%s", stdout)
	if rep.Ceiling == nil || rep.Ceiling.RPS <= 0 || rep.Ceiling.Errors != 0 {
		t.Fatalf("ceiling = %+v", rep.Ceiling)
	}
	got := map[string]report.Row{}
	for _, r := range rep.Scenarios {
		got[r.Name] = r
	}
	for _, sc := range scenario.All {
		t.Run(sc.Name, func(t *testing.T) {
			r, ok := got[sc.Name]
			switch {
			case !ok:
				t.Fatal("missing from the report")
			case r.Failed != "":
				t.Fatalf("did not run: %s", r.Failed)
			case r.Errors != 0:
				t.Fatalf("%d errors; the first: %s", r.Errors, r.FirstError)
			case r.Requests == 0 || r.RPS <= 0 || r.P99 <= 0:
				t.Fatalf("no throughput: %+v", r)
			case r.OfCeiling == nil || *r.OfCeiling <= 0:
				t.Fatalf("not related to the ceiling: %+v", r)
			}
		})
	}
	t.Run("server memory found by its port", func(t *testing.T) {
		m := rep.Server
		if _, err := os.Stat("/proc/self/status"); err != nil {
			t.Skip("no /proc here")
		}
		if m.Unknown != "" || m.PID != s.pid || m.PeakBytes == 0 || m.PeakBytes < m.RSSBytes {
			t.Fatalf("server memory = %+v, want pid %d", m, s.pid)
		}
	})
	if !strings.Contains(stdout, "p99.9") || !strings.Contains(stdout, "server RSS") {
		t.Fatalf("the table is missing columns:\n%s", stdout)
	}

	t.Run("a ceiling before each scenario", func(t *testing.T) {
		rep, b, stdout := runBench(t, s, "-c", "2", "-d", "200ms", "-scenarios", "client_credentials,jwks", "-ceiling-each")
		if rep.Ceiling != nil || len(rep.Scenarios) != 2 {
			t.Fatalf("report = %s", b)
		}
		for _, r := range rep.Scenarios {
			c := r.Ceiling
			if c == nil || c.RPS <= 0 || c.Errors != 0 {
				t.Fatalf("%s: own ceiling = %+v", r.Name, c)
			}
			if r.OfCeiling == nil || math.Abs(*r.OfCeiling-r.RPS/c.RPS) > 1e-9 {
				t.Errorf("%s: of ceiling = %v, want its own ceiling's %v", r.Name, r.OfCeiling, r.RPS/c.RPS)
			}
		}
		if !strings.Contains(stdout, "ceiling req/s") {
			t.Errorf("the table does not show each scenario's ceiling:\n%s", stdout)
		}
	})
}

func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("OAUTH2_REGISTRATION_TOKEN", "from-env")
	t.Setenv("OAUTH2_SEED_USERNAME", "env-user")
	t.Setenv("OAUTH2_SEED_PASSWORD", "env-password")
	o, err := parseFlags([]string{"-username", "flag-user"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.registrationToken != "from-env" || o.username != "flag-user" || o.password != "env-password" {
		t.Fatalf("options = %+v", o)
	}
	if _, err := parseFlags([]string{"-c", "0"}, &bytes.Buffer{}); err == nil {
		t.Fatal("-c 0 must be refused")
	}
}
