package core

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// memStore is an in-memory Store (and ports.KeyStore) for the engine's
// tests. It keeps clients, users and keys faithfully; the other records
// are kept in plain maps with no expiry.
type memStore struct {
	mu           sync.Mutex
	clients      map[string]*ports.Client
	users        map[string]*ports.User
	authRequests map[string]*ports.AuthRequest
	codes        map[string]*ports.AuthorizationCode
	tokens       map[string]*ports.Token
	sessions     map[string]*ports.Session
	consents     map[string]*ports.Consent
	keys         []*ports.SigningKey
	jtis         map[string]time.Time
	deviceCodes  *memDevices
	cibaReqs     *memCIBA
	// events are those the write methods were given, in commit order.
	events []ports.Event
}

var (
	_ Store          = (*memStore)(nil)
	_ ports.KeyStore = (*memStore)(nil)
)

func newMemStore() *memStore {
	return &memStore{
		clients: map[string]*ports.Client{}, users: map[string]*ports.User{},
		authRequests: map[string]*ports.AuthRequest{}, codes: map[string]*ports.AuthorizationCode{},
		tokens: map[string]*ports.Token{}, sessions: map[string]*ports.Session{},
		consents: map[string]*ports.Consent{}, jtis: map[string]time.Time{},
	}
}

// record keeps the events of a change that succeeded.
func (s *memStore) record(evs []ports.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, evs...)
}

// eventTypes lists the types of the recorded events, oldest first.
func (s *memStore) eventTypes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.events))
	for i, e := range s.events {
		out[i] = e.Type
	}
	return out
}

func memKey(parts ...string) string {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString(p)
		b.WriteByte(0)
	}
	return b.String()
}

func cloneClient(c *ports.Client) *ports.Client {
	cc := *c
	cc.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	cc.GrantTypes = append([]string(nil), c.GrantTypes...)
	cc.ResponseTypes = append([]string(nil), c.ResponseTypes...)
	cc.Metadata = bytes.Clone(c.Metadata)
	return &cc
}

func (s *memStore) CreateClient(_ context.Context, c *ports.Client, evs ...ports.Event) error {
	if err := s.createClient(c); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) createClient(c *ports.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memKey(c.Tenant, c.ID)
	if _, ok := s.clients[k]; ok {
		return ports.ErrConflict
	}
	s.clients[k] = cloneClient(c)
	return nil
}

func (s *memStore) GetClient(_ context.Context, tenant, id string) (*ports.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[memKey(tenant, id)]
	if !ok {
		return nil, ports.ErrNotFound
	}
	return cloneClient(c), nil
}

func (s *memStore) UpdateClient(_ context.Context, c *ports.Client, evs ...ports.Event) error {
	if err := s.updateClient(c); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) updateClient(c *ports.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memKey(c.Tenant, c.ID)
	if _, ok := s.clients[k]; !ok {
		return ports.ErrNotFound
	}
	s.clients[k] = cloneClient(c)
	return nil
}

func (s *memStore) DeleteClient(_ context.Context, tenant, id string, evs ...ports.Event) error {
	if err := s.deleteClient(tenant, id); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) deleteClient(tenant, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memKey(tenant, id)
	if _, ok := s.clients[k]; !ok {
		return ports.ErrNotFound
	}
	delete(s.clients, k)
	return nil
}

func (s *memStore) ListClients(_ context.Context, tenant string, page ports.Page) ([]*ports.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ports.Client
	for _, c := range s.clients {
		if c.Tenant == tenant && c.ID > page.After {
			out = append(out, cloneClient(c))
		}
	}
	slices.SortFunc(out, func(a, b *ports.Client) int { return strings.Compare(a.ID, b.ID) })
	return firstOf(out, page), nil
}

// firstOf cuts a list to the page's limit.
func firstOf[T any](list []T, page ports.Page) []T {
	if page.Limit > 0 && len(list) > page.Limit {
		return list[:page.Limit]
	}
	return list
}

func (s *memStore) CreateUser(_ context.Context, u *ports.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.users {
		if e.Tenant == u.Tenant && (e.ID == u.ID || e.Username == u.Username) {
			return ports.ErrConflict
		}
	}
	uu := *u
	s.users[memKey(u.Tenant, u.ID)] = &uu
	return nil
}

func (s *memStore) GetUser(_ context.Context, tenant, id string) (*ports.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[memKey(tenant, id)]
	if !ok {
		return nil, ports.ErrNotFound
	}
	uu := *u
	return &uu, nil
}

func (s *memStore) GetUserByUsername(_ context.Context, tenant, username string) (*ports.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Tenant == tenant && u.Username == username {
			uu := *u
			return &uu, nil
		}
	}
	return nil, ports.ErrNotFound
}

func (s *memStore) ListUsers(_ context.Context, tenant string, page ports.Page) ([]*ports.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ports.User
	for _, u := range s.users {
		if u.Tenant == tenant && u.Username > page.After {
			uu := *u
			out = append(out, &uu)
		}
	}
	slices.SortFunc(out, func(a, b *ports.User) int { return strings.Compare(a.Username, b.Username) })
	return firstOf(out, page), nil
}

func (s *memStore) SetUserPassword(_ context.Context, tenant, id, passwordHash, keepSession string, evs ...ports.Event) ([]string, error) {
	s.mu.Lock()
	for _, u := range s.users {
		if u.Tenant == tenant && u.ID == id {
			u.PasswordHash = passwordHash
			ended := s.endUserSessions(tenant, id, keepSession)
			s.mu.Unlock()
			s.record(evs)
			return ended, nil
		}
	}
	s.mu.Unlock()
	return nil, ports.ErrNotFound
}

func (s *memStore) EndUserSessions(_ context.Context, tenant, userID, keepSession string, evs ...ports.Event) ([]string, error) {
	s.mu.Lock()
	ended := s.endUserSessions(tenant, userID, keepSession)
	s.mu.Unlock()
	s.record(evs)
	return ended, nil
}

// endUserSessions deletes the user's sessions but keep; s.mu is held.
func (s *memStore) endUserSessions(tenant, userID, keep string) []string {
	var ended []string
	for k, ss := range s.sessions {
		if ss.Tenant == tenant && ss.UserID == userID && ss.ID != keep {
			delete(s.sessions, k)
			ended = append(ended, ss.ID)
		}
	}
	return ended
}

func (s *memStore) DeleteUser(_ context.Context, tenant, id string, now time.Time, evs ...ports.Event) (int, []string, error) {
	s.mu.Lock()
	found := false
	for k, u := range s.users {
		if u.Tenant == tenant && u.ID == id {
			delete(s.users, k)
			found = true
		}
	}
	if !found {
		s.mu.Unlock()
		return 0, nil, ports.ErrNotFound
	}
	for k, c := range s.consents {
		if c.Tenant == tenant && c.UserID == id {
			delete(s.consents, k)
		}
	}
	ended := s.endUserSessions(tenant, id, "")
	n := 0
	for _, t := range s.tokens {
		if t.Tenant == tenant && t.Subject == id && t.RevokedAt == nil {
			t.RevokedAt = &now
			n++
		}
	}
	s.mu.Unlock()
	s.record(evs)
	return n, ended, nil
}

func (s *memStore) CreateAuthRequest(_ context.Context, r *ports.AuthRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rr := *r
	s.authRequests[memKey(r.Tenant, r.ID)] = &rr
	return nil
}

func (s *memStore) GetAuthRequest(_ context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[memKey(tenant, id)]
	if !ok || !now.Before(r.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	rr := *r
	return &rr, nil
}

func (s *memStore) ConsumeAuthRequest(_ context.Context, tenant, id string, now time.Time) (*ports.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[memKey(tenant, id)]
	if !ok || !now.Before(r.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	delete(s.authRequests, memKey(tenant, id))
	return r, nil
}

func (s *memStore) DeleteAuthRequest(_ context.Context, tenant, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, memKey(tenant, id))
	return nil
}

func (s *memStore) CreateAuthCode(_ context.Context, c *ports.AuthorizationCode, evs ...ports.Event) error {
	if err := s.createAuthCode(c); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) createAuthCode(c *ports.AuthorizationCode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := *c
	s.codes[memKey(c.Tenant, c.Hash)] = &cc
	return nil
}

func (s *memStore) GetAuthCode(_ context.Context, tenant, hash string, now time.Time) (*ports.AuthorizationCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[memKey(tenant, hash)]
	if !ok || c.UsedAt == nil && !now.Before(c.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	cc := *c
	return &cc, nil
}

func (s *memStore) RedeemAuthCode(_ context.Context, tenant, hash string, now time.Time, r ports.Redemption) (*ports.AuthorizationCode, error) {
	v, err := s.redeemAuthCode(tenant, hash, now, r.Issued)
	switch {
	case err == nil:
		s.record(r.Events)
	case errors.Is(err, ports.ErrAlreadyUsed):
		s.record(r.ReplayEvents)
	}
	return v, err
}

func (s *memStore) redeemAuthCode(tenant, hash string, now time.Time, issued []*ports.Token) (*ports.AuthorizationCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[memKey(tenant, hash)]
	if !ok || c.UsedAt == nil && !now.Before(c.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	cc := *c
	if c.UsedAt != nil {
		for _, t := range s.tokens {
			if t.Tenant == tenant && t.GrantID == c.GrantID && t.RevokedAt == nil {
				t.RevokedAt = &now
			}
		}
		return &cc, ports.ErrAlreadyUsed
	}
	c.UsedAt = &now
	for _, n := range issued {
		nn := *n
		s.tokens[memKey(n.Tenant, n.ID)] = &nn
	}
	return &cc, nil
}

func (s *memStore) CreateTokens(_ context.Context, tokens []*ports.Token, evs ...ports.Event) error {
	if err := s.createTokens(tokens...); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) createTokens(tokens ...*ports.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range tokens {
		tt := *t
		s.tokens[memKey(t.Tenant, t.ID)] = &tt
	}
	return nil
}

func (s *memStore) GetToken(_ context.Context, tenant, id string) (*ports.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[memKey(tenant, id)]
	if !ok {
		return nil, ports.ErrNotFound
	}
	tt := *t
	return &tt, nil
}

func (s *memStore) RotateRefreshToken(_ context.Context, tenant, oldID string, now time.Time, r ports.Rotation) (*ports.Token, error) {
	old, err := s.rotateRefreshToken(tenant, oldID, now, r.Issued...)
	switch {
	case err == nil:
		s.record(r.Events)
	case errors.Is(err, ports.ErrAlreadyUsed):
		s.record(r.ReplayEvents)
	}
	return old, err
}

func (s *memStore) rotateRefreshToken(tenant, oldID string, now time.Time, issued ...*ports.Token) (*ports.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[memKey(tenant, oldID)]
	if !ok || t.Kind != ports.TokenRefresh || t.RevokedAt != nil || !now.Before(t.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	tt := *t
	if t.UsedAt != nil {
		return &tt, ports.ErrAlreadyUsed
	}
	t.UsedAt = &now
	for _, n := range issued {
		nn := *n
		s.tokens[memKey(n.Tenant, n.ID)] = &nn
	}
	return &tt, nil
}

func (s *memStore) RevokeToken(_ context.Context, tenant, id string, now time.Time, evs ...ports.Event) error {
	if err := s.revokeToken(tenant, id, now); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) revokeToken(tenant, id string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[memKey(tenant, id)]; ok && t.RevokedAt == nil {
		t.RevokedAt = &now
	}
	return nil
}

func (s *memStore) RevokeGrant(_ context.Context, tenant, grantID string, now time.Time, evs ...ports.Event) error {
	if err := s.revokeGrant(tenant, grantID, now); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) revokeGrant(tenant, grantID string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.Tenant == tenant && t.GrantID == grantID && t.RevokedAt == nil {
			t.RevokedAt = &now
		}
	}
	return nil
}

func (s *memStore) RevokeClientTokens(_ context.Context, tenant, clientID string, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tokens {
		if t.Tenant == tenant && t.ClientID == clientID && t.RevokedAt == nil {
			t.RevokedAt = &now
			n++
		}
	}
	return n, nil
}

func (s *memStore) SessionClients(_ context.Context, tenant, sessionID string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, t := range s.tokens {
		if t.Tenant == tenant && t.SessionID == sessionID && !seen[t.ClientID] {
			seen[t.ClientID] = true
			out = append(out, t.ClientID)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *memStore) UseJTI(_ context.Context, tenant, key string, expiresAt, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if exp, ok := s.jtis[memKey(tenant, key)]; ok && now.Before(exp) {
		return ports.ErrAlreadyUsed
	}
	s.jtis[memKey(tenant, key)] = expiresAt
	return nil
}

func (s *memStore) UpdateKey(_ context.Context, k *ports.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.keys {
		if e.Tenant == k.Tenant && e.ID == k.ID {
			e.NotBefore, e.RetiredAt, e.ExpiresAt = k.NotBefore, k.RetiredAt, k.ExpiresAt
			return nil
		}
	}
	return ports.ErrNotFound
}

func (s *memStore) CreateSession(_ context.Context, sess *ports.Session, evs ...ports.Event) error {
	if err := s.createSession(sess); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) createSession(sess *ports.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := *sess
	s.sessions[memKey(sess.Tenant, sess.ID)] = &ss
	return nil
}

func (s *memStore) GetSession(_ context.Context, tenant, id string, now time.Time) (*ports.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[memKey(tenant, id)]
	if !ok || !now.Before(sess.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	ss := *sess
	return &ss, nil
}

func (s *memStore) DeleteSession(_ context.Context, tenant, id string, evs ...ports.Event) error {
	if err := s.deleteSession(tenant, id); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) deleteSession(tenant, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, memKey(tenant, id))
	return nil
}

func (s *memStore) CountSessions(_ context.Context, tenant string, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sess := range s.sessions {
		if sess.Tenant == tenant && now.Before(sess.ExpiresAt) {
			n++
		}
	}
	return n, nil
}

func (s *memStore) SaveConsent(_ context.Context, c *ports.Consent, evs ...ports.Event) error {
	if err := s.saveConsent(c); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) saveConsent(c *ports.Consent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := *c
	s.consents[memKey(c.Tenant, c.UserID, c.ClientID)] = &cc
	return nil
}

func (s *memStore) GetConsent(_ context.Context, tenant, userID, clientID string) (*ports.Consent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.consents[memKey(tenant, userID, clientID)]
	if !ok {
		return nil, ports.ErrNotFound
	}
	cc := *c
	return &cc, nil
}

func (s *memStore) DeleteConsent(_ context.Context, tenant, userID, clientID string, evs ...ports.Event) error {
	if err := s.deleteConsent(tenant, userID, clientID); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) deleteConsent(tenant, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.consents, memKey(tenant, userID, clientID))
	return nil
}

func (s *memStore) ListConsents(_ context.Context, tenant, userID string) ([]*ports.Consent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ports.Consent
	for _, c := range s.consents {
		if c.Tenant == tenant && c.UserID == userID {
			cc := *c
			out = append(out, &cc)
		}
	}
	slices.SortFunc(out, func(a, b *ports.Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

func (s *memStore) RevokeConsent(_ context.Context, tenant, userID, clientID string, now time.Time, evs ...ports.Event) (int, error) {
	s.mu.Lock()
	delete(s.consents, memKey(tenant, userID, clientID))
	n := 0
	for _, t := range s.tokens {
		if t.Tenant == tenant && t.ClientID == clientID && t.Subject == userID && t.RevokedAt == nil {
			t.RevokedAt = &now
			n++
		}
	}
	s.mu.Unlock()
	s.record(evs)
	return n, nil
}

func (s *memStore) CreateKey(_ context.Context, k *ports.SigningKey, evs ...ports.Event) error {
	if err := s.createKey(k); err != nil {
		return err
	}
	s.record(evs)
	return nil
}

func (s *memStore) createKey(k *ports.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.keys {
		if e.Tenant == k.Tenant && e.ID == k.ID {
			return ports.ErrConflict
		}
	}
	kk := *k
	s.keys = append(s.keys, &kk)
	return nil
}

func (s *memStore) ListKeys(_ context.Context, tenant string) ([]*ports.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ports.SigningKey
	for _, k := range s.keys {
		if k.Tenant == tenant {
			kk := *k
			out = append(out, &kk)
		}
	}
	return out, nil
}

// noNetwork fails every request, so a test never reaches the network by
// accident.
type noNetwork struct{}

func (noNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("test: no network")
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// testKeys is generated once: RSA key generation dominates the package's
// run time otherwise.
var testKeys = sync.OnceValues(func() (*keyset.Set, error) {
	return keyset.Load(context.Background(), newMemStore(), ports.DefaultTenant,
		bytes.Repeat([]byte{0x5A}, 32), fixedClock{testNow})
})

// newTestProvider returns a Provider over a fresh memStore.
func newTestProvider(t testing.TB, cfg Config) (*Provider, *memStore) {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatalf("keyset.Load: %v", err)
	}
	secrets, err := secret.NewKeyed(bytes.Repeat([]byte{0x33}, 32))
	if err != nil {
		t.Fatalf("secret.NewKeyed: %v", err)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "https://id.example.com"
	}
	store := newMemStore()
	p, err := New(cfg, Deps{
		Store: store, Keys: keys, Clock: fixedClock{testNow},
		Passwords: secret.Argon2id{Memory: 64, Time: 1, Threads: 1}, Secrets: secrets,
		DPoPNonceKey: bytes.Repeat([]byte{0x44}, 32),
		// Tests that fetch request objects set a client of their own.
		RequestURIClient: &http.Client{Transport: noNetwork{}},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, store
}
