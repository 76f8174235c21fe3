package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"oauth2-server.dev/bench/internal/ceiling"
	"oauth2-server.dev/bench/internal/load"
	"oauth2-server.dev/bench/internal/report"
	"oauth2-server.dev/bench/internal/scenario"
	"oauth2-server.dev/bench/internal/target"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	url               string
	registrationToken string
	username          string
	password          string
	concurrency       int
	duration          time.Duration
	maxRequests       int64
	scenarios         string
	scope             string
	idTokenAlg        string
	codes             int
	codePrep          time.Duration
	ceiling           bool
	ceilingEach       bool
	pid               int
	jsonPath          string
	timeout           time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base `URL` of the running server")
	fs.StringVar(&o.registrationToken, "registration-token", "", "initial access `token` for /oauth/register (default $OAUTH2_REGISTRATION_TOKEN)")
	fs.StringVar(&o.username, "username", "", "user to sign in as for the browser flows (default $OAUTH2_SEED_USERNAME)")
	fs.StringVar(&o.password, "password", "", "that user's password (default $OAUTH2_SEED_PASSWORD)")
	fs.IntVar(&o.concurrency, "c", 32, "concurrent workers, each with its own keep-alive connection")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "timed phase of each scenario and of the ceiling")
	fs.Int64Var(&o.maxRequests, "max-requests", 10_000_000, "request budget of each scenario; a scenario ends at -d or at this, whichever comes first")
	fs.StringVar(&o.scenarios, "scenarios", "all", "comma-separated `list` of scenarios to run, or all")
	fs.StringVar(&o.scope, "scope", "api:read", "scope the client_credentials clients register and request (must pass the server's OAUTH2_SCOPE_ALLOWLIST)")
	fs.StringVar(&o.idTokenAlg, "id-token-alg", "RS256", "`alg` the web client registers as id_token_signed_response_alg: RS256 (the OIDC default), ES256, PS256 or EdDSA; the refresh and authorization_code responses carry an ID token signed with it")
	fs.IntVar(&o.codes, "codes", 20000, "most authorization codes to collect before the authorization_code scenario; it ends early if they run out")
	fs.DurationVar(&o.codePrep, "code-prep", 30*time.Second, "most time spent collecting codes; with -d it must stay under the server's OAUTH2_CODE_TTL (1m by default)")
	fs.BoolVar(&o.ceiling, "ceiling", true, "run the transport ceiling first and relate every scenario to it")
	fs.BoolVar(&o.ceilingEach, "ceiling-each", false, "run the ceiling again right before each scenario's timed phase and relate the scenario to that run, for a machine whose speed drifts during a run (shared or throttled); doubles the run time, and the authorization_code codes must then outlive -code-prep plus twice -d")
	fs.IntVar(&o.pid, "pid", 0, "server process id for the RSS figures (default: the process listening on the port of -url)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to `file`")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: go run ./bench [flags]

Drives a running oauth2-server on this machine and prints requests/s,
p50/p99/p99.9 latency and errors per scenario, each also as a fraction of a
transport ceiling (a bare net/http token endpoint signing the same ES256
JWT with no storage, run in this process first, or before each scenario
with -ceiling-each), and the server's peak RSS.
Latencies are those of successful requests; errors are non-2xx answers and
transport failures.

Scenarios, in run order:
`)
		for _, s := range scenario.All {
			fmt.Fprintf(fs.Output(), "  %-19s %s\n", s.Name, s.What)
		}
		fmt.Fprint(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range []struct {
		v   *string
		env string
	}{
		{&o.registrationToken, "OAUTH2_REGISTRATION_TOKEN"},
		{&o.username, "OAUTH2_SEED_USERNAME"},
		{&o.password, "OAUTH2_SEED_PASSWORD"},
	} {
		if *f.v == "" {
			*f.v = os.Getenv(f.env)
		}
	}
	switch {
	case o.concurrency < 1:
		return o, errors.New("-c must be at least 1")
	case o.duration <= 0:
		return o, errors.New("-d must be positive")
	case o.maxRequests < 1:
		return o, errors.New("-max-requests must be at least 1")
	case o.codes < 1:
		return o, errors.New("-codes must be at least 1")
	case o.ceilingEach && !o.ceiling:
		return o, errors.New("-ceiling-each needs the ceiling: drop -ceiling=false")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	scenarios, err := scenario.Select(o.scenarios)
	if err != nil {
		return err
	}
	base, err := url.Parse(strings.TrimRight(o.url, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("-url %q is not an http(s) URL", o.url)
	}
	srv := &target.Server{Base: base.String(), HTTP: target.NewHTTPClient(o.concurrency, o.timeout)}
	disc, err := srv.Discover(ctx)
	if err != nil {
		return fmt.Errorf("the server does not answer: %w", err)
	}
	fmt.Fprintf(stderr, "server %s (issuer %s)\n", srv.Base, disc.Issuer)

	pid, pidErr := serverPID(ctx, base, o.pid)
	if pidErr == nil {
		fmt.Fprintf(stderr, "server process %d\n", pid)
	}
	startPeak := peakBefore(pid, pidErr)

	live := isTerminal(stderr)
	env := &scenario.Env{
		Server: srv, RegistrationToken: o.registrationToken, Username: o.username, Password: o.password,
		Scope: o.scope, IDTokenAlg: o.idTokenAlg, Concurrency: o.concurrency, MaxRequests: o.maxRequests,
		Codes: o.codes, CodePrep: o.codePrep, Log: stderr, Progress: stderr, Live: live,
	}
	if err := env.Setup(ctx, scenarios); err != nil {
		return err
	}

	rep := &report.Report{
		StartedAt: time.Now().UTC().Truncate(time.Second), URL: srv.Base, Concurrency: o.concurrency,
		DurationSeconds: o.duration.Seconds(), MaxRequests: o.maxRequests, Machine: machine(),
	}
	loadOpts := func(name string) load.Options {
		return load.Options{
			Name: name, Concurrency: o.concurrency, Duration: o.duration, MaxRequests: o.maxRequests,
			Progress: stderr, Live: live,
		}
	}
	ceilingRun := func() (*report.Row, error) {
		row, err := runCeiling(ctx, srv.HTTP, disc.Issuer, o.scope, loadOpts("ceiling"))
		if err != nil {
			return nil, fmt.Errorf("ceiling: %w", err)
		}
		return &row, nil
	}
	if o.ceiling && !o.ceilingEach {
		if rep.Ceiling, err = ceilingRun(); err != nil {
			return err
		}
	}
	failed := 0
	for _, s := range scenarios {
		if ctx.Err() != nil {
			break
		}
		newOp, err := s.Prepare(ctx, env)
		if err != nil {
			failed++
			rep.Scenarios = append(rep.Scenarios, report.Row{Name: s.Name, Failed: err.Error()})
			fmt.Fprintf(stderr, "%s: %v\n", s.Name, err)
			continue
		}
		var own *report.Row
		if o.ceilingEach {
			if own, err = ceilingRun(); err != nil {
				return err
			}
		}
		row := report.FromResult(load.Run(ctx, loadOpts(s.Name), newOp))
		row.Ceiling = own
		rep.Scenarios = append(rep.Scenarios, row)
	}
	rep.Server = serverMemory(pid, pidErr, startPeak)
	rep.Relate()

	fmt.Fprintln(stderr)
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	if o.jsonPath != "" {
		if err := rep.WriteJSONFile(o.jsonPath); err != nil {
			return err
		}
	}
	switch {
	case ctx.Err() != nil:
		return errors.New("interrupted")
	case failed > 0:
		return fmt.Errorf("%d scenario(s) could not run", failed)
	}
	return nil
}

// runCeiling serves the ceiling endpoint on a loopback port of this
// process and drives it with the client_credentials request the server
// gets, through the same HTTP client and load loop.
func runCeiling(ctx context.Context, hc *http.Client, issuer, scope string, opts load.Options) (report.Row, error) {
	client := target.Client{ID: randomString(16), Secret: randomString(32)}
	h, err := ceiling.New(ceiling.Config{Issuer: issuer, ClientID: client.ID, ClientSecret: client.Secret, Scope: scope})
	if err != nil {
		return report.Row{}, err
	}
	s, err := ceiling.Start(h)
	if err != nil {
		return report.Row{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(sctx)
		// The ceiling's connections would sit in the pool for nothing.
		hc.CloseIdleConnections()
	}()
	cs := &target.Server{Base: s.URL, HTTP: hc}
	return report.FromResult(load.Run(ctx, opts, scenario.ClientCredentials(cs, client, scope))), nil
}

// randomString is n random bytes, base64url: the length of the server's
// client ids (16) and secrets (32), so the ceiling parses the same bytes.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func machine() report.Machine {
	m := report.Machine{CPUs: runtime.NumCPU(), GoOS: runtime.GOOS, GoArch: runtime.GOARCH, GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = report.CPUModel(string(b))
	}
	return m
}

// isTerminal reports whether w is a terminal, where a progress line can be
// rewritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
