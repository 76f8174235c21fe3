package httpapi

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"oauth2-server.dev/core"
	"oauth2-server.dev/templates"
)

// Pinger reports whether the store answers, for /ready.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Options configures the HTTP layer.
type Options struct {
	Provider *core.Provider
	Store    Pinger
	Logger   *slog.Logger
	// Registry receives the HTTP metrics and is served at /metrics.
	Registry *prometheus.Registry
	// CookieKey signs cookies (32 bytes or more).
	CookieKey []byte
	// SecureCookies marks cookies Secure; on whenever the issuer is https.
	SecureCookies bool
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64
}

// NewRouter builds the server's routes and middleware pipeline.
func NewRouter(o Options) (http.Handler, error) {
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	m := newMetrics(o.Registry)
	h := &handlers{
		p: o.Provider, store: o.Store, log: o.Logger, pages: pages, metrics: m,
		cookies: newCookieJar(o.CookieKey, o.SecureCookies),
	}
	static, err := fs.Sub(templates.FS, "static")
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(
		requestID,
		realIP(o.TrustedProxies),
		recoverer(o.Logger),
		securityHeaders(o.SecureCookies),
		m.instrument,
		accessLog(o.Logger),
		limitBody(o.MaxBodyBytes),
	)
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.methodNotAllowed)

	r.Get("/health", h.health)
	r.Get("/ready", h.ready)
	r.Handle("/metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(static)))

	r.Group(func(r chi.Router) {
		r.Use(publicCORS)
		r.Get("/.well-known/openid-configuration", h.discovery)
		r.Get("/.well-known/oauth-authorization-server", h.discovery)
		r.Get("/.well-known/jwks.json", h.jwks)
	})

	r.Route("/oauth", func(r chi.Router) {
		r.Get("/authorize", h.authorize)
		r.Post("/authorize", h.authorize)
		r.Post("/token", h.token)
		r.Get("/userinfo", h.userinfo)
		r.Post("/userinfo", h.userinfo)
		r.Post("/register", h.register)
		r.Get("/register/{client_id}", h.readRegistration)
	})

	r.Get("/login", h.loginPage)
	r.Post("/login", h.login)
	r.Get("/consent", h.consentPage)
	r.Post("/consent", h.consent)
	return r, nil
}
