package core

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"oauth2-server.dev/core/dpop"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// Config is the protocol engine's settings. The server's configuration
// (package config) holds their defaults and fills in every one; New
// refuses the lifetimes, key schedule and access token algorithm when they
// are missing. Only what no operator sets has a default here: Tenant,
// AuthRequestTTL, IDTokenAlg and AccessTokenAudience.
type Config struct {
	// Issuer is the issuer identifier (RFC 8414 §2); endpoint URLs are
	// built from it.
	Issuer string
	// Tenant is the store tenant this provider serves.
	Tenant string

	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	IDTokenTTL      time.Duration
	CodeTTL         time.Duration
	AuthRequestTTL  time.Duration
	SessionTTL      time.Duration

	// AccessTokenAlg signs JWT access tokens; IDTokenAlg signs ID tokens
	// unless the client registered another.
	AccessTokenAlg string
	IDTokenAlg     string
	// AccessTokenAudience is the aud of access tokens (RFC 9068 §2.2);
	// the issuer when empty.
	AccessTokenAudience string

	// KeyRotationInterval rotates signing keys automatically when the
	// newest key of an algorithm is older; zero turns automatic rotation
	// off.
	KeyRotationInterval time.Duration
	// KeyPropagationDelay is how long a new key is published before it
	// signs.
	KeyPropagationDelay time.Duration
	// KeyGracePeriod is how long a replaced key stays published after it
	// stopped signing; at least the longest token lifetime.
	KeyGracePeriod time.Duration

	// RegistrationToken is the initial access token that guards dynamic
	// client registration (RFC 7591 §3). Registration is disabled when it
	// is empty.
	RegistrationToken string
	// ScopeAllowList, when set, limits the scopes a client may register.
	ScopeAllowList []string
	// RequirePAR makes every client push its authorization requests
	// (RFC 9126 §6).
	RequirePAR bool
	// TrustedIssuers are the issuers whose JWTs the JWT bearer grant
	// accepts.
	TrustedIssuers []TrustedIssuer
	// DPoPNonce makes every DPoP proof carry a nonce the server issued
	// (RFC 9449 §8, §9), so that proofs cannot be made ahead of time.
	DPoPNonce bool
	// ClientCertificates says that TLS client certificates reach the
	// engine (RFC 8705): the server's own listener asks for them, or a
	// trusted proxy forwards them. Without it neither certificate method
	// nor certificate-bound tokens are offered.
	ClientCertificates bool
	// ClientCAs are the CAs that the chains of tls_client_auth clients
	// must lead to (RFC 8705 §2.1); that method is offered only with
	// them.
	ClientCAs *x509.CertPool
	// RequestURIHosts are the hosts ("name" for port 443, or "name:port")
	// from which request objects passed by reference may be fetched
	// (RFC 9101 §5.2); none are fetched when it is empty.
	RequestURIHosts []string
	// OutboundPrivateNetworks are the non-public networks the server may
	// call at URLs clients register (jwks_uri, backchannel_logout_uri,
	// backchannel_client_notification_endpoint). A registration with such
	// a URL on localhost, or on an IP literal that is neither public nor
	// in these networks, is refused.
	OutboundPrivateNetworks []netip.Prefix
	// AuthorizationDetailsTypes are the RFC 9396 authorization details
	// types the server accepts; authorization_details is refused without
	// any.
	AuthorizationDetailsTypes []string
}

// defaultAuthRequestTTL is how long a stored authorization request waits
// for its sign-in and consent.
const defaultAuthRequestTTL = 15 * time.Minute

// withDefaults fills in the settings no operator sets.
func (c Config) withDefaults() Config {
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if c.Tenant == "" {
		c.Tenant = ports.DefaultTenant
	}
	if c.AuthRequestTTL <= 0 {
		c.AuthRequestTTL = defaultAuthRequestTTL
	}
	// OpenID Connect Registration §2: RS256 unless the client registers
	// another algorithm.
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = keyset.RS256
	}
	if c.AccessTokenAudience == "" {
		c.AccessTokenAudience = c.Issuer
	}
	return c
}

// checkSettings refuses the operator's settings that are missing or that
// the engine cannot work with.
func (c Config) checkSettings() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"AccessTokenTTL", c.AccessTokenTTL}, {"RefreshTokenTTL", c.RefreshTokenTTL},
		{"IDTokenTTL", c.IDTokenTTL}, {"CodeTTL", c.CodeTTL}, {"SessionTTL", c.SessionTTL},
		{"KeyGracePeriod", c.KeyGracePeriod},
	} {
		if d.v <= 0 {
			return fmt.Errorf("core: %s must be positive", d.name)
		}
	}
	if c.KeyRotationInterval < 0 || c.KeyPropagationDelay < 0 {
		return errors.New("core: KeyRotationInterval and KeyPropagationDelay must not be negative")
	}
	if c.AccessTokenAlg == "" {
		return errors.New("core: AccessTokenAlg is required")
	}
	return nil
}

// Store is what the engine needs from storage: the ports of ports.Store
// its requests read and change, and no more. Signing keys reach it through
// keyset, which takes ports.KeyStore; purging, the event outbox and the
// store's lifecycle belong to the server.
type Store interface {
	ports.ClientStore
	ports.UserStore
	ports.AuthRequestStore
	ports.AuthCodeStore
	ports.TokenStore
	ports.SessionStore
	ports.ConsentStore
	ports.JTIStore
	ports.DeviceCodeStore
	ports.CIBAStore
}

// Provider is the protocol engine for one issuer.
type Provider struct {
	cfg   Config
	store Store
	keys  *keyset.Set
	clock ports.Clock
	// directory reads clients and users through the caches.
	*directory
	*eventSource
	// mint issues the tokens of every grant.
	mint *minter
	// signing rotates the keys.
	signing *keyService
	// decisionService's exported methods (device authorization, CIBA)
	// are the Provider's.
	*decisionService
	// authorizationService's exported methods (authorization, PAR,
	// consents) are the Provider's.
	*authorizationService
	// clientService's exported methods (registration, client
	// operations, client authentication) are the Provider's.
	*clientService
	// sessionService's exported methods (sign-in, sessions, logout,
	// users) are the Provider's.
	*sessionService
	// tokenService's exported methods (the token endpoint,
	// introspection, revocation, UserInfo, DPoP nonces) are the
	// Provider's.
	*tokenService
	notifier *notifier
	// background is the work requests leave running after their answer,
	// which Drain waits for.
	background *backgroundWork
	// trustedJWKS holds the jwks_uri documents of the trusted issuers.
	trustedJWKS *jwksCache
}

// Deps are the Provider's collaborators.
type Deps struct {
	Store     Store
	Keys      *keyset.Set
	Clock     ports.Clock
	Passwords ports.PasswordHasher
	// Secrets hashes client secrets and registration access tokens.
	Secrets *secret.Keyed
	// Sealer encrypts the secrets of client_secret_jwt clients, which the
	// server must be able to read back; without one that method is off.
	Sealer *secret.Sealer
	// HTTPClient calls the URLs clients register: jwks_uri documents,
	// back-channel logout and CIBA pings. It must refuse to connect to
	// addresses that are not public, but for Config.OutboundPrivateNetworks;
	// a client with a 5 s timeout when nil.
	HTTPClient *http.Client
	// TrustedIssuersClient fetches the jwks_uri of Config.TrustedIssuers,
	// which the operator chose; HTTPClient when nil.
	TrustedIssuersClient *http.Client
	// RequestURIClient fetches request objects from the hosts of
	// Config.RequestURIHosts, and is required with them. The engine checks
	// every URL against the allow-list; the client must refuse to connect
	// to addresses that are not public unless the operator named them.
	RequestURIClient *http.Client
	// Events receives the domain events; nothing is published when nil.
	Events ports.Publisher
	// TraceID names the request a context belongs to, for events.
	TraceID func(context.Context) string
	// OnLogoutDelivery, when set, learns the outcome of every back-channel
	// logout delivery after its retries.
	OnLogoutDelivery func(uri string, err error)
	// DPoPNonceKey (32 bytes or more) keys the DPoP nonces; required with
	// Config.DPoPNonce. Replicas that share it accept each other's nonces.
	DPoPNonceKey []byte
	// CIBANotifier tells users' authentication devices of backchannel
	// authentication requests (CIBA); without one the CIBA grant is off
	// and not advertised.
	CIBANotifier ports.CIBANotifier
	// OnCIBADelivery, when set, learns the outcome of every CIBA delivery
	// after its retries: CIBADeliveryDevice for a notice to a user's
	// device, CIBADeliveryPing for a ping to a client.
	OnCIBADelivery func(kind string, err error)
	// Shutdown is closed when the server begins to shut down. Background
	// work then stops waiting: a delivery that fails is reported instead
	// of retried, and the delayed second revocation of a deleted client's
	// tokens runs at once. Nil: never.
	Shutdown <-chan struct{}
}

// New returns a Provider.
func New(cfg Config, d Deps) (*Provider, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("core: issuer is required")
	}
	if d.Store == nil || d.Keys == nil || d.Secrets == nil {
		return nil, errors.New("core: store, keys and secrets are required")
	}
	if err := checkDetailTypes(cfg.AuthorizationDetailsTypes); err != nil {
		return nil, err
	}
	for name, alg := range map[string]string{"AccessTokenAlg": cfg.AccessTokenAlg, "IDTokenAlg": cfg.IDTokenAlg} {
		if alg != "" && !slices.Contains(keyset.Algorithms, alg) {
			return nil, fmt.Errorf("core: %s %q: want one of %s", name, alg, strings.Join(keyset.Algorithms, ", "))
		}
	}
	if d.Clock == nil {
		d.Clock = ports.SystemClock{}
	}
	if len(cfg.RequestURIHosts) > 0 && d.RequestURIClient == nil {
		return nil, errors.New("core: RequestURIHosts needs a RequestURIClient")
	}
	if d.Passwords == nil {
		d.Passwords = secret.DefaultArgon2id
	}
	p := &Provider{
		cfg: cfg.withDefaults(), keys: d.Keys, clock: d.Clock,
	}
	caches := newCaches()
	p.store = invalidatingStore{Store: d.Store, caches: caches}
	p.directory = &directory{tenant: p.cfg.Tenant, clock: p.clock, store: p.store, caches: caches}
	var nonces *dpop.Nonces
	if cfg.DPoPNonce {
		var err error
		if nonces, err = dpop.NewNonces(d.DPoPNonceKey, p.cfg.Issuer); err != nil {
			return nil, fmt.Errorf("core: DPoP nonces: %w", err)
		}
	}
	if d.Events == nil {
		d.Events = discardEvents{}
	}
	p.eventSource = &eventSource{tenant: p.cfg.Tenant, clock: p.clock, traceID: d.TraceID, publisher: d.Events}
	p.signing = &keyService{settings: p.cfg.keySettings(), set: p.keys, clock: p.clock, locks: p.store, events: p.eventSource}
	p.mint = &minter{settings: p.cfg.tokenSettings(), keys: p.keys, clock: p.clock, dir: p.directory, eventSource: p.eventSource}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if d.TrustedIssuersClient == nil {
		d.TrustedIssuersClient = d.HTTPClient
	}
	p.trustedJWKS = newJWKSCache(d.TrustedIssuersClient, d.Clock)
	p.background = &backgroundWork{shutdown: d.Shutdown}
	p.clientService = &clientService{
		settings: p.cfg.clientSettings(), store: p.store, clock: p.clock, dir: p.directory,
		secrets: d.Secrets, sealer: d.Sealer, jwksCache: newJWKSCache(d.HTTPClient, d.Clock),
		background: p.background, server: p, eventSource: p.eventSource,
	}
	if cfg.ClientCAs != nil {
		p.clientCAs.Store(cfg.ClientCAs)
	}
	p.notifier = newNotifier(d.HTTPClient, d.OnLogoutDelivery, p.background)
	p.sessionService = &sessionService{
		settings: p.cfg.sessionSettings(), store: p.store, clock: p.clock, passwords: d.Passwords,
		keys: p.keys, mint: p.mint, notifier: p.notifier, background: p.background, eventSource: p.eventSource,
	}
	// Hashed on first need, not at start: hashing costs the start-up time
	// and the memory of one password check.
	p.dummyHash = sync.OnceValues(func() (string, error) { return d.Passwords.Hash(secret.Random(16)) })
	p.decisionService = &decisionService{
		settings: decisionSettings{
			issuer: p.cfg.Issuer, tenant: p.cfg.Tenant, deviceVerificationURI: p.DeviceVerificationURI(),
			cibaDecisionURI: p.CIBADecisionURI(), backchannelEndpoint: p.BackchannelAuthenticationEndpoint(),
		},
		store: p.store, clock: p.clock, keys: p.keys, clients: p, sealer: d.Sealer,
		cibaNotifier: d.CIBANotifier, onCIBADelivery: d.OnCIBADelivery,
		notifier: p.notifier, background: p.background, eventSource: p.eventSource,
	}
	az := p.cfg.authorizationSettings()
	az.parEndpoint = p.PAREndpoint()
	p.authorizationService = &authorizationService{
		settings: az, store: p.store, clock: p.clock, keys: p.keys, mint: p.mint,
		dir: p.directory, clients: p, requestURIClient: d.RequestURIClient, requestURITimeout: defaultRequestURITimeout,
		eventSource: p.eventSource,
	}
	p.tokenService = newTokenService(p, nonces)
	if err := cfg.checkSettings(); err != nil {
		return nil, err
	}
	return p, nil
}

// Keys returns the provider's signing keys.
func (p *Provider) Keys() *keyset.Set { return p.keys }

// Issuer is the server's issuer identifier.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Endpoint URLs, built from the issuer.
func (p *Provider) AuthorizationEndpoint() string { return p.cfg.Issuer + "/oauth/authorize" }
func (p *Provider) TokenEndpoint() string         { return p.cfg.Issuer + "/oauth/token" }
func (p *Provider) UserinfoEndpoint() string      { return p.cfg.Issuer + "/oauth/userinfo" }
func (p *Provider) RegistrationEndpoint() string  { return p.cfg.Issuer + "/oauth/register" }
func (p *Provider) JWKSURI() string               { return p.cfg.Issuer + "/.well-known/jwks.json" }
func (p *Provider) IntrospectionEndpoint() string { return p.cfg.Issuer + "/oauth/introspect" }
func (p *Provider) RevocationEndpoint() string    { return p.cfg.Issuer + "/oauth/revoke" }

// backgroundWork counts the work requests leave running after their
// answer: back-channel logout tokens, CIBA notices and pings, the second
// revocation of a deleted client's tokens. Work is only started by
// requests or by other background work, so once the server takes no more
// requests every start happens while the count is above zero, as
// sync.WaitGroup requires for Drain's wait.
type backgroundWork struct {
	wg      sync.WaitGroup
	running atomic.Int64
	// shutdown is Deps.Shutdown: the work's pauses end when it closes.
	shutdown <-chan struct{}
}

// Go runs f on a goroutine of its own, counted until it returns.
func (b *backgroundWork) Go(f func()) {
	b.running.Add(1)
	b.wg.Go(func() {
		defer b.running.Add(-1)
		f()
	})
}

// pause waits d, or less if shutdown closes first, and reports whether it
// waited the whole d.
func pause(d time.Duration, shutdown <-chan struct{}) bool {
	select {
	case <-shutdown:
		return false
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-shutdown:
		return false
	}
}

// Drain waits until the work requests left running after their answers
// (back-channel logout deliveries, CIBA notices and pings, the delayed
// revocation of a deleted client's tokens) is done, or ctx ends; then it
// returns an error saying how much was still running. A server calls it
// once it takes no more requests, before it closes the store, and closes
// Deps.Shutdown first, so that no retry waits out its pause meanwhile.
func (p *Provider) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		p.background.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		n := p.background.running.Load()
		if n == 0 {
			return nil
		}
		return fmt.Errorf("%d background deliveries or revocations still running: %w", n, context.Cause(ctx))
	}
}
