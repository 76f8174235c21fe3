package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/httpapi"
	"oauth2-server.dev/ports"
	sqlstore "oauth2-server.dev/storage/sql"
)

// App is a composed server.
type App struct {
	Config   *config.Config
	Store    *sqlstore.Store
	Provider *core.Provider
	Handler  http.Handler
	Log      *slog.Logger
}

// OpenStore opens and migrates the store the configuration names.
func OpenStore(ctx context.Context, cfg *config.Config, migrate bool) (*sqlstore.Store, error) {
	opts := sqlstore.Options{}
	if kind, _ := cfg.StoreKind(); kind == config.StorePostgres {
		// SQLite keeps its own connection cap: it has one writer at a time
		// whatever the pool size.
		opts = sqlstore.Options{
			MaxOpenConns:     cfg.DBMaxConns,
			MinConns:         cfg.DBMinConns,
			StatementTimeout: cfg.DBStatementTimeout,
		}
	}
	st, err := sqlstore.Open(ctx, cfg.DatabaseURL, opts)
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// New builds the server from cfg: store (migrated), keys, engine, router.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, clock ports.Clock) (*App, error) {
	if clock == nil {
		clock = ports.SystemClock{}
	}
	st, err := OpenStore(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	a, err := build(ctx, cfg, log, clock, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func build(ctx context.Context, cfg *config.Config, log *slog.Logger, clock ports.Clock, st *sqlstore.Store) (*App, error) {
	keys, err := keyset.Load(ctx, st, ports.DefaultTenant, cfg.KEK(), clock)
	if err != nil {
		return nil, err
	}
	secretKey, err := secret.Derive(cfg.KEK(), "client secret hash")
	if err != nil {
		return nil, err
	}
	cookieKey, err := secret.Derive(cfg.KEK(), "cookie signature")
	if err != nil {
		return nil, err
	}
	hasher, err := secret.NewKeyed(secretKey)
	if err != nil {
		return nil, err
	}
	p, err := core.New(core.Config{
		Issuer:            cfg.Issuer,
		AccessTokenTTL:    cfg.AccessTokenTTL,
		RefreshTokenTTL:   cfg.RefreshTokenTTL,
		IDTokenTTL:        cfg.IDTokenTTL,
		CodeTTL:           cfg.CodeTTL,
		SessionTTL:        cfg.SessionTTL,
		RegistrationToken: cfg.RegistrationToken,
		ScopeAllowList:    cfg.ScopeAllowList,
	}, core.Deps{Store: st, Keys: keys, Clock: clock, Secrets: hasher})
	if err != nil {
		return nil, err
	}
	proxies, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	h, err := httpapi.NewRouter(httpapi.Options{
		Provider: p, Store: st, Logger: log, Registry: prometheus.NewRegistry(),
		CookieKey: cookieKey, SecureCookies: strings.HasPrefix(cfg.Issuer, "https://"),
		TrustedProxies: proxies, MaxBodyBytes: cfg.MaxBodyBytes,
	})
	if err != nil {
		return nil, err
	}
	return &App{Config: cfg, Store: st, Provider: p, Handler: h, Log: log}, nil
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully,
// letting requests in flight finish for up to 20 seconds.
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
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
