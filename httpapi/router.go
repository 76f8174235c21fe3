package httpapi

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

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
	// TrustedProxies are the networks whose X-Forwarded-For is believed,
	// and whose ClientCertHeader.
	TrustedProxies []netip.Prefix
	// ClientCertHeader, when named, is where a TLS-terminating proxy
	// forwards client certificates (RFC 8705); certificates of the
	// server's own TLS connections need no setting.
	ClientCertHeader ClientCertHeader
	// MaxBodyBytes caps request bodies.
	MaxBodyBytes int64
	// AdminToken guards /admin/api and signs the operator in to the admin
	// UI at /admin; empty disables both.
	AdminToken string
	// Edge runs after the base pipeline, before routing: deadlines, load
	// shedding, rate limits.
	Edge []func(http.Handler) http.Handler
	// Bulkheads bound concurrency per route group: "token" (token,
	// introspection, revocation, userinfo), "interactive" (authorize,
	// sign-in, consent, logout), "registration" and "admin". A group
	// without one is unbounded.
	Bulkheads map[string]func(http.Handler) http.Handler
	// Guard throttles callers after failed client or user
	// authentications; nil turns that off.
	Guard FailureGuard
	// Tracer makes the request spans; none are recorded when nil.
	Tracer trace.TracerProvider
	// Draining reports that the server is shutting down: /ready answers
	// 503 while every other route still serves. Nil: never.
	Draining func() bool
}

// FailureGuard keeps count of failed authentications per key (client
// address, client id, username) and refuses keys that failed too often.
type FailureGuard interface {
	Blocked(ctx context.Context, keys ...string) (bool, time.Duration, error)
	RecordFailure(ctx context.Context, keys ...string) error
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
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	certs, err := newCertSource(o.ClientCertHeader, o.TrustedProxies)
	if err != nil {
		return nil, err
	}
	m := newMetrics(o.Registry)
	h := &handlers{
		p: o.Provider, store: o.Store, log: o.Logger, pages: pages, metrics: m,
		metadata: sync.OnceValues(func() ([]byte, error) {
			b, err := json.Marshal(o.Provider.Metadata())
			return append(b, '\n'), err
		}),
		cookies: newCookieJar(o.CookieKey, o.SecureCookies), guard: o.Guard, certs: certs,
		adminToken: o.AdminToken, draining: o.Draining,
	}
	group := func(name string) func(http.Handler) http.Handler {
		if mw, ok := o.Bulkheads[name]; ok && mw != nil {
			return mw
		}
		return func(next http.Handler) http.Handler { return next }
	}
	static, err := fs.Sub(templates.FS, "static")
	if err != nil {
		return nil, err
	}

	r := chi.NewRouter()
	r.Use(
		requestID,
		realIP(o.TrustedProxies),
		tracing(o.Tracer),
		recoverer(o.Logger),
		securityHeaders(o.SecureCookies),
		m.instrument,
		accessLog(o.Logger),
		limitBody(o.MaxBodyBytes),
	)
	r.Use(o.Edge...)
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

	r.Group(func(r chi.Router) {
		r.Use(group("token"))
		r.Post("/oauth/token", h.token)
		r.Post("/oauth/introspect", h.introspect)
		r.Post("/oauth/revoke", h.revoke)
		r.Post("/oauth/par", h.par)
		r.Post("/oauth/device_authorization", h.deviceAuthorization)
		if o.Provider.CIBAEnabled() {
			r.Post("/oauth/bc-authorize", h.backchannelAuthorize)
		}
		r.Get("/oauth/userinfo", h.userinfo)
		r.Post("/oauth/userinfo", h.userinfo)
	})
	r.Group(func(r chi.Router) {
		r.Use(group("interactive"))
		r.Get("/oauth/authorize", h.authorize)
		r.Post("/oauth/authorize", h.authorize)
		r.Get("/oauth/logout", h.logout)
		r.Post("/oauth/logout", h.logout)
		r.Get("/login", h.loginPage)
		r.Post("/login", h.login)
		r.Get("/consent", h.consentPage)
		r.Post("/consent", h.consent)
		r.Get("/account", h.accountPage)
		r.Post("/account/consents/{client_id}/revoke", h.accountRevoke)
		r.Post("/account/password", h.accountPassword)
		r.Post("/account/sessions/end-others", h.accountEndOtherSessions)
		r.Get("/device", h.devicePage)
		r.Post("/device", h.deviceDecision)
		if o.Provider.CIBAEnabled() {
			r.Get("/ciba", h.cibaPage)
			r.Post("/ciba", h.cibaDecision)
		}
	})
	r.Group(func(r chi.Router) {
		r.Use(group("registration"))
		r.Post("/oauth/register", h.register)
		r.Get("/oauth/register/{client_id}", h.readRegistration)
		r.Put("/oauth/register/{client_id}", h.updateRegistration)
		r.Delete("/oauth/register/{client_id}", h.deleteRegistration)
	})
	r.Route("/admin", func(r chi.Router) {
		r.Use(group("admin"))
		r.Route("/api", func(r chi.Router) {
			r.Use(adminAuth(o.AdminToken))
			r.Get("/keys", h.adminListKeys)
			r.Post("/keys/rotate", h.adminRotateKeys)
			r.Get("/clients", h.adminListClients)
			r.Get("/clients/{client_id}", h.adminGetClient)
			r.Delete("/clients/{client_id}", h.adminDeleteClient)
			r.Get("/users", h.adminListUsers)
			r.Post("/users", h.adminCreateUser)
			r.Put("/users/{user_id}/password", h.adminSetPassword)
			r.Delete("/users/{user_id}", h.adminDeleteUser)
		})
		r.Group(func(r chi.Router) {
			r.Use(h.adminUIEnabled)
			r.Get("/", h.adminPage)
			r.Post("/login", h.adminLogin)
			r.Post("/logout", h.adminLogout)
			r.Post("/keys/rotate", h.adminUIRotateKeys)
			r.Post("/clients/{client_id}/delete", h.adminUIDeleteClient)
			r.Post("/users", h.adminUIAddUser)
			r.Post("/users/{user_id}/password", h.adminUISetPassword)
			r.Post("/users/{user_id}/delete", h.adminUIDeleteUser)
		})
	})
	return r, nil
}
