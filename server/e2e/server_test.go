package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"oauth2-server.dev/config"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/server/internal/app"
	"oauth2-server.dev/storage/mongo/mongotest"
)

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
)

// testServer is a running server on a loopback port.
type testServer struct {
	issuer   string
	regToken string
	app      *app.App
	// addr is the server's listening address; the issuer names another
	// when the test puts a proxy in front.
	addr string
	// httpClient reaches a server that serves HTTPS; nil for plain HTTP.
	httpClient *http.Client
	// shutdown starts the server's shutdown, as SIGTERM does.
	shutdown context.CancelFunc
}

// backends lists the stores the end-to-end suite runs against. MongoDB
// is always among them: without OAUTH2_TEST_MONGO_URL, mongotest runs
// FerretDB inside the test binary.
func backends(t *testing.T) []string {
	out := []string{"sqlite", "mongo"}
	if os.Getenv("OAUTH2_TEST_POSTGRES_URL") != "" {
		out = append(out, "postgres")
	} else if os.Getenv("OAUTH2_TEST_REQUIRE_SERVICES") == "1" {
		t.Fatal("OAUTH2_TEST_REQUIRE_SERVICES=1 but OAUTH2_TEST_POSTGRES_URL is not set")
	} else {
		t.Log("OAUTH2_TEST_POSTGRES_URL not set: end-to-end tests run on SQLite and MongoDB only")
	}
	return out
}

// forEachBackend runs f as a subtest per store, each with its own server.
func forEachBackend(t *testing.T, f func(t *testing.T, s *testServer)) {
	forEachBackendWith(t, nil, f)
}

// forEachBackendWith is forEachBackend with env added to each server's.
func forEachBackendWith(t *testing.T, env map[string]string, f func(t *testing.T, s *testServer)) {
	for _, b := range backends(t) {
		t.Run(b, func(t *testing.T) { f(t, startServer(t, b, env)) })
	}
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// startServer starts the server as an operator would run it outside dev
// mode, on 127.0.0.1 with a fresh database.
func startServer(t *testing.T, backend string, env map[string]string) *testServer {
	t.Helper()
	return startServerWith(t, backend, env, nil)
}

// startServerWith is startServer on a clock the test controls (nil is the
// wall clock) and with composition options, such as the roots that let the
// server reach test servers over TLS.
func startServerWith(t *testing.T, backend string, env map[string]string, clock ports.Clock, opts ...app.Option) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if env["OAUTH2_TLS_CERT_FILE"] != "" {
		scheme = "https"
	}
	issuer := scheme + "://" + ln.Addr().String()
	regToken := "initial-access-token-" + randomKey()[:16]
	vars := map[string]string{
		"OAUTH2_ISSUER":             issuer,
		"OAUTH2_DATABASE_URL":       databaseURL(t, backend),
		"OAUTH2_KEY_ENCRYPTION_KEY": randomKey(),
		"OAUTH2_SEED_USERNAME":      testUser,
		"OAUTH2_SEED_PASSWORD":      testPassword,
		"OAUTH2_REGISTRATION_TOKEN": regToken,
		"OAUTH2_LOG_LEVEL":          "error",
		// The flows below make many requests from one address in a
		// moment; the default budgets have their own test.
		"OAUTH2_RATE_LIMIT_TOKEN":        "10000/s:10000",
		"OAUTH2_RATE_LIMIT_USERINFO":     "10000/s:10000",
		"OAUTH2_RATE_LIMIT_INTERACTIVE":  "10000/s:10000",
		"OAUTH2_RATE_LIMIT_REGISTRATION": "10000/s:10000",
		// Nothing balances load in front of these servers; the drain has
		// its own test.
		"OAUTH2_SHUTDOWN_DRAIN": "0",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load("", false, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, log, clock, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Seed(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	return &testServer{issuer: issuer, regToken: regToken, app: a, addr: ln.Addr().String(), shutdown: cancel}
}

// databaseURL returns a fresh database: a SQLite file, a database of its
// own on the test MongoDB server, or a new schema on the test PostgreSQL
// server, the last two dropped when the test ends.
func databaseURL(t *testing.T, backend string) string {
	switch backend {
	case "sqlite":
		return "sqlite:" + t.TempDir() + "/oauth2.db"
	case "mongo":
		return mongotest.URL(t)
	}
	base := os.Getenv("OAUTH2_TEST_POSTGRES_URL")
	schema := fmt.Sprintf("e2e_%d_%s", time.Now().UnixNano(), strings.ToLower(randomHex(4)))
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// registered is a client registered through /oauth/register.
type registered struct {
	ID, Secret, RegistrationToken, RegistrationURI string
	Raw                                            map[string]any
}

// register registers a client with dynamic registration.
func (s *testServer) register(t *testing.T, metadata string) registered {
	t.Helper()
	status, body := s.registerRaw(t, s.regToken, metadata)
	if status != http.StatusCreated {
		t.Fatalf("register: status %d: %s", status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	r := registered{Raw: m}
	r.ID, _ = m["client_id"].(string)
	r.Secret, _ = m["client_secret"].(string)
	r.RegistrationToken, _ = m["registration_access_token"].(string)
	r.RegistrationURI, _ = m["registration_client_uri"].(string)
	return r
}

func (s *testServer) registerRaw(t *testing.T, token, metadata string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.issuer+"/oauth/register", strings.NewReader(metadata))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// client is the HTTP client that reaches the server: one trusting its
// TLS certificate when it serves HTTPS.
func (s *testServer) client() *http.Client {
	if s.httpClient != nil {
		return s.httpClient
	}
	return http.DefaultClient
}

// browser is a person's browser: it keeps cookies, follows the server's
// redirects, and stops at the first redirect that leaves the server.
type browser struct {
	t      *testing.T
	s      *testServer
	client *http.Client
}

func newBrowser(t *testing.T, s *testServer) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, s: s}
	b.client = &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !strings.HasPrefix(req.URL.String(), s.issuer+"/") {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	return b
}

// page is what the browser shows after a request.
type page struct {
	status   int
	url      *url.URL
	body     string
	location *url.URL // set when the server redirected away from itself
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Location()
		if err != nil {
			b.t.Fatalf("redirect without Location: %v", err)
		}
		p.location = loc
	}
	return p
}

func (b *browser) get(u string) page {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hidden returns the hidden inputs of the page's form.
func (p page) hidden() url.Values {
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], unescapeHTML(m[2]))
	}
	return v
}

func unescapeHTML(s string) string {
	r := strings.NewReplacer("&#43;", "+", "&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">")
	return r.Replace(s)
}

func (p page) isLogin() bool {
	return p.status == http.StatusOK && p.url.Path == "/login" && strings.Contains(p.body, `name="password"`)
}

func (p page) isConsent() bool {
	return p.status == http.StatusOK && p.url.Path == "/consent" && strings.Contains(p.body, `value="allow"`)
}

// login fills the sign-in form shown on p.
func (b *browser) login(p page, username, password string) page {
	b.t.Helper()
	if !p.isLogin() {
		b.t.Fatalf("expected the sign-in page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	form := p.hidden()
	form.Set("username", username)
	form.Set("password", password)
	return b.post(b.s.issuer+"/login", form)
}

// decide presses allow or deny on the consent page p.
func (b *browser) decide(p page, decision string) page {
	b.t.Helper()
	if !p.isConsent() {
		b.t.Fatalf("expected the consent page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	form := p.hidden()
	form.Set("decision", decision)
	return b.post(b.s.issuer+"/consent", form)
}

// postJSON posts a form and decodes a JSON answer.
func postForm(t *testing.T, u string, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return doJSON(t, req)
}

func doJSON(t *testing.T, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: status %d, body is not JSON: %q", req.Method, req.URL, resp.StatusCode, b)
		}
	}
	return resp, m
}
