package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/events"
	"oauth2-server.dev/httpapi"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/resilience"
	"oauth2-server.dev/server/internal/janitor"
	mongostore "oauth2-server.dev/storage/mongo"
	sqlstore "oauth2-server.dev/storage/sql"
)

// App is a composed server.
type App struct {
	Config   *config.Config
	Store    Store
	Provider *core.Provider
	Handler  http.Handler
	Log      *slog.Logger
	janitor  *janitor.Janitor
	relay    *events.Relay
	// res holds what the start opened, which Close releases.
	res *resources
	// background ends when the server begins to shut down (Serve calls
	// stopBackground): key maintenance, the janitor and the relay stop,
	// and deliveries to other servers make no further retry.
	background     context.Context
	stopBackground context.CancelFunc
	// tls holds the TLS files: the listener's certificate, the client
	// CAs.
	tls *tlsFiles
	// draining is set from the shutdown signal until the listener closes:
	// /ready answers 503 so that load balancers stop sending.
	draining *atomic.Bool
}

// janitorBatch is how many expired records one purge statement deletes:
// small enough to keep each transaction short.
const janitorBatch = 1000

// OpenStore opens the store the scheme of the configured database URL
// names (sqlite:, postgres:// or postgresql://, mongodb:// or
// mongodb+srv://) and, if migrate is set, migrates it.
func OpenStore(ctx context.Context, cfg *config.Config, migrate bool) (Store, error) {
	kind, err := cfg.Store.Kind()
	if err != nil {
		return nil, err
	}
	var st Store
	switch kind {
	case config.StoreMongo:
		s, err := mongostore.Open(ctx, cfg.Store.URL, mongostore.Options{
			MaxConns:         cfg.Store.MaxConns,
			MinConns:         cfg.Store.MinConns,
			OperationTimeout: cfg.Store.StatementTimeout,
		})
		if err != nil {
			return nil, err
		}
		st = mongoStore{s}
	default:
		opts := sqlstore.Options{}
		if kind == config.StorePostgres {
			// SQLite keeps its own connection cap: it has one writer at a
			// time whatever the pool size.
			opts = sqlstore.Options{
				MaxOpenConns:     cfg.Store.MaxConns,
				MinConns:         cfg.Store.MinConns,
				StatementTimeout: cfg.Store.StatementTimeout,
			}
		}
		s, err := sqlstore.Open(ctx, cfg.Store.URL, opts)
		if err != nil {
			return nil, err
		}
		st = sqlStore{s}
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			_ = st.Close() // the migration's error is the one to report
			return nil, err
		}
	}
	return st, nil
}

// Option adjusts what New composes beyond what the configuration says.
type Option func(*options)

type options struct {
	outboundRoots *x509.CertPool
}

// WithOutboundRoots makes calls to other servers (request_uri, jwks_uri,
// back-channel logout) trust the certificates of pool instead of the
// system's roots. Tests use it to reach servers with self-signed
// certificates; no configuration setting leads here.
func WithOutboundRoots(pool *x509.CertPool) Option {
	return func(o *options) { o.outboundRoots = pool }
}

// New builds the server from cfg: store (migrated), keys, engine, router.
// A start that fails releases whatever it had opened.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, clock ports.Clock, opts ...Option) (_ *App, err error) {
	if clock == nil {
		clock = ports.SystemClock{}
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	res := &resources{}
	defer func() {
		if err != nil {
			_ = res.release() // the start's error is the one to report
		}
	}()
	st, err := OpenStore(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	res.push("store", st.Close)
	return build(ctx, cfg, log, clock, st, o, res)
}

// build composes the server on st, pushing every resource it opens onto
// res as soon as it exists.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger, clock ports.Clock, st Store, o options, res *resources) (*App, error) {
	tlsFiles, err := loadTLSFiles(cfg)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	rm, err := resilience.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	guarded, _ := guardStore(st, storeCallLimit, rm, log)
	// The signing keys are read through the breaker too: while the store
	// is down, the keys in memory keep signing and a re-read fails at
	// once or at the store deadline, never hangs.
	keys, err := keyset.Load(ctx, guarded, ports.DefaultTenant, cfg.Keys.EncryptionKey, clock)
	if err != nil {
		return nil, err
	}
	secretKey, err := secret.Derive(cfg.Keys.EncryptionKey, "client secret hash")
	if err != nil {
		return nil, err
	}
	cookieKey, err := secret.Derive(cfg.Keys.EncryptionKey, "cookie signature")
	if err != nil {
		return nil, err
	}
	hasher, err := secret.NewKeyed(secretKey)
	if err != nil {
		return nil, err
	}
	sealKey, err := secret.Derive(cfg.Keys.EncryptionKey, "client secret seal")
	if err != nil {
		return nil, err
	}
	sealer, err := secret.NewSealer(sealKey)
	if err != nil {
		return nil, err
	}
	// Derived from the key-encryption key, so every replica accepts the
	// DPoP nonces of every other.
	nonceKey, err := secret.Derive(cfg.Keys.EncryptionKey, "dpop nonce")
	if err != nil {
		return nil, err
	}
	ed, err := buildEdge(cfg, reg, rm, log, res)
	if err != nil {
		return nil, err
	}
	tp, err := tracerProvider(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res.push("tracer provider", func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tp.Shutdown(sctx)
	})
	evs, err := buildEvents(cfg, st, guarded, rm, reg, log, res)
	if err != nil {
		return nil, err
	}
	counter, err := newEventCounter(reg)
	if err != nil {
		return nil, err
	}
	counted := &countingPublisher{next: evs.publisher, counter: counter}
	// Events committed with their changes are counted, and wake the relay,
	// as the store reports them.
	st.OnEvents(func(committed []ports.Event) {
		counter.count(committed)
		evs.relayEvents(committed)
	})
	background, stopBackground := context.WithCancel(context.Background())
	res.pushFunc("background work", stopBackground)
	out := newOutbound(o.outboundRoots)
	res.pushFunc("outbound connections", out.closeIdle)
	var requestURIClient *http.Client
	if len(cfg.Protocol.RequestURIHosts) > 0 {
		requestURIClient = out.requestURIClient(cfg.Protocol.RequestURIHosts)
	}
	notifier, err := cibaNotifier(cfg, out.client(), background.Done(), log)
	if err != nil {
		return nil, err
	}
	deliveries, err := newCIBADeliveries(reg, log)
	if err != nil {
		return nil, err
	}
	logouts, err := newLogoutDeliveries(reg, log)
	if err != nil {
		return nil, err
	}
	p, err := core.New(engineConfig(cfg, tlsFiles.clientCAs), core.Deps{
		Store: guarded, Keys: keys, Clock: clock, Secrets: hasher, Sealer: sealer,
		HTTPClient: out.calledClient(cfg.Outbound.PrivateNetworks), TrustedIssuersClient: out.client(), RequestURIClient: requestURIClient,
		Events: counted, TraceID: traceID, DPoPNonceKey: nonceKey,
		CIBANotifier: notifier, OnCIBADelivery: deliveries.record, OnLogoutDelivery: logouts.record,
		Shutdown: background.Done(),
	})
	if err != nil {
		return nil, err
	}
	if err := reg.Register(newKeyAgeCollector(p)); err != nil {
		return nil, err
	}
	if err := reg.Register(newSessionCollector(guarded, ports.DefaultTenant, clock)); err != nil {
		return nil, err
	}
	draining := new(atomic.Bool)
	h, err := httpapi.NewRouter(httpapi.Options{
		Provider: p, Store: guarded, Logger: log, Registry: reg,
		CookieKey: cookieKey, SecureCookies: cfg.Server.HTTPSIssuer(),
		TrustedProxies: cfg.Server.TrustedProxies, MaxBodyBytes: cfg.Server.MaxBodyBytes, AdminToken: cfg.Admin.Token,
		Edge: ed.middleware, Bulkheads: ed.bulkheads, Guard: ed.guard, Tracer: tp,
		ClientCertHeader: httpapi.ClientCertHeader{Name: cfg.TLS.ClientCertHeader, Format: cfg.TLS.ClientCertHeaderFormat},
		Draining:         draining.Load,
	})
	if err != nil {
		return nil, err
	}
	jan, err := janitor.New(guarded, cfg.Store.JanitorInterval, janitorBatch, reg, log, clock)
	if err != nil {
		return nil, err
	}
	return &App{Config: cfg, Store: st, Provider: p, Handler: h, Log: log, janitor: jan, relay: evs.relay,
		res: res, background: background, stopBackground: stopBackground, tls: tlsFiles, draining: draining}, nil
}

// Close releases what the start opened, the last opened first: the
// background work stops, the outbound connections close, the event bus
// sends what it holds and its sinks' connections close, the tracer
// exports its last spans, the Redis clients close, and the store last.
// A server that served closes once Serve has returned.
func (a *App) Close() error {
	return a.res.release()
}

// ShutdownTimeout is how long, once the listener has closed, the requests
// in flight and the background work they started have to finish.
const ShutdownTimeout = 20 * time.Second

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully:
// for the configured drain (OAUTH2_SHUTDOWN_DRAIN) /ready answers 503
// while every request is still served, then the listener closes, the
// background work stops, and the requests in flight, and the deliveries
// they started (from then on without retries), have ShutdownTimeout to
// finish. With OAUTH2_TLS_CERT_FILE it answers HTTPS, asking for client
// certificates unless OAUTH2_TLS_CLIENT_CERTS is off.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	if a.tls != nil && a.tls.serves() {
		srv.TLSConfig = a.tls.serverConfig(a.Config.TLS.ClientCerts)
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	if a.Config.Telemetry.DebugAddr != "" {
		dbg, err := a.serveDebug(a.Config.Telemetry.DebugAddr)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer dbg.Close()
	}
	// Key maintenance, the janitor and the relay go on through the drain:
	// the replica still serves, and may still rotate or relay. Serve
	// returns once they have stopped, so that nothing of theirs runs on
	// when the store closes.
	var background sync.WaitGroup
	defer func() {
		a.stopBackground()
		background.Wait()
	}()
	background.Go(func() { a.maintainKeys(a.background) })
	background.Go(func() { a.janitor.Run(a.background) })
	if a.relay != nil {
		background.Go(func() { _ = a.relay.Run(a.background) })
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := a.drain(srv, errc); err != nil {
		return err
	}
	// The background work stops as the listener closes, and so do the
	// retries of deliveries to other servers: a delivery that fails from
	// now on is reported, not retried, so that none of them holds the
	// shutdown for its pauses.
	a.stopBackground()
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Back-channel logouts and CIBA pings the last requests started still
	// reach their relying parties before the store closes, within the
	// same ShutdownTimeout, each with the one attempt it has in flight or
	// has yet to make.
	if err := a.Provider.Drain(sctx); err != nil {
		a.Log.Warn("shut down with background work unfinished", "error", err)
	}
	return nil
}

// drain turns /ready to 503 and keeps serving for the configured drain,
// long enough for load balancers to see it and send elsewhere before the
// listener closes. It returns early only if the server stops by itself.
func (a *App) drain(srv *http.Server, errc <-chan error) error {
	d := a.Config.Server.ShutdownDrain
	if d <= 0 {
		return nil
	}
	a.draining.Store(true)
	// Clients on kept-alive connections reconnect, and the balancer sends
	// their next request to a replica that stays.
	srv.SetKeepAlivesEnabled(false)
	a.Log.Info("draining: /ready answers 503, requests are still served", "drain", d.String())
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case err := <-errc:
		return err
	}
}

// serveDebug starts the profiling listener on addr.
func (a *App) serveDebug(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("OAUTH2_DEBUG_ADDR: %w", err)
	}
	// No write timeout: a CPU profile or trace streams for as long as it
	// was asked to run.
	dbg := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = dbg.Serve(ln) }()
	a.Log.Info("profiling listener", "addr", ln.Addr().String())
	return dbg, nil
}

// traceID names the request an event comes from: its W3C trace id, else
// its request id.
func traceID(ctx context.Context) string {
	if id := httpapi.TraceIDFrom(ctx); id != "" {
		return id
	}
	return httpapi.RequestIDFrom(ctx)
}

// keyMaintenanceInterval is how often a replica re-reads the signing keys:
// a rotation made elsewhere is seen within it.
const keyMaintenanceInterval = 2 * time.Second

// maintainKeys keeps the signing keys current until ctx ends.
func (a *App) maintainKeys(ctx context.Context) {
	runKeyMaintenance(ctx, keyMaintenanceInterval, a.Provider.MaintainKeys, a.Log)
}

// runKeyMaintenance calls maintain every interval until ctx ends. Failures
// are logged when they begin and when they end, not at every attempt: the
// keys in memory keep signing through a store outage, and the same line
// every 2 seconds would bury the outage's first report. A store that is
// unavailable is a warning (its breaker says more); any other failure, a
// key that does not decrypt, is an error.
func runKeyMaintenance(ctx context.Context, interval time.Duration, maintain func(context.Context) error, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := maintain(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && failingSince.IsZero():
			failingSince = time.Now()
			level := slog.LevelError
			if errors.Is(err, ports.ErrUnavailable) {
				level = slog.LevelWarn
			}
			log.Log(ctx, level, "signing keys cannot be re-read or rotated; the keys in memory keep signing", "error", err)
		case err == nil && !failingSince.IsZero():
			log.Info("signing keys re-read again", "failing_for", time.Since(failingSince).Round(time.Millisecond))
			failingSince = time.Time{}
		}
	}
}
