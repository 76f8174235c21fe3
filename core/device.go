package core

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// decisionSettings are what the decision service needs of the
// configuration, and the pages and endpoint it sends people and clients
// to.
type decisionSettings struct {
	issuer, tenant                         string
	deviceVerificationURI, cibaDecisionURI string
	backchannelEndpoint                    string
}

// decisionService starts the requests whose client waits while a person
// decides elsewhere, and records the decision: device authorization (RFC
// 8628 §3.1, §3.3) and backchannel authentication (CIBA), with the
// notices to authentication devices and the pings to clients. Their
// grants, which redeem approved requests, are grant_device_code.go and
// grant_ciba.go.
type decisionService struct {
	settings decisionSettings
	store    decisionStore
	clock    ports.Clock
	// keys verify CIBA's id_token_hint.
	keys    *keyset.Set
	clients decisionClients
	// sealer protects CIBA ping tokens at rest; ping mode is off
	// without it.
	sealer *secret.Sealer
	// cibaNotifier reaches authentication devices; CIBA is off without.
	cibaNotifier   ports.CIBANotifier
	onCIBADelivery func(kind string, err error)
	// notifier delivers pings as background work.
	notifier   *notifier
	background *backgroundWork
	*eventSource
}

// decisionStore is what the decision service reads and changes: device
// and CIBA requests, the clients that make them and the users they name.
type decisionStore interface {
	ports.DeviceCodeStore
	ports.CIBAStore
	GetClient(ctx context.Context, tenant, id string) (*ports.Client, error)
	GetUser(ctx context.Context, tenant, id string) (*ports.User, error)
	GetUserByUsername(ctx context.Context, tenant, username string) (*ports.User, error)
}

// decisionClients authenticates the clients that start requests, records
// the consent a decision gives, and checks the URLs it calls.
type decisionClients interface {
	AuthenticateClient(ctx context.Context, cred ClientCredentials) (*ports.Client, error)
	consentOf(ctx context.Context, userID, clientID string, scopes []string, data map[string]string) (*ports.Consent, ports.Event, error)
	checkCalledURL(name, raw string) string
}

// Device authorization grant (RFC 8628).
const (
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	// userCodeAlphabet has no vowels (no words) and no look-alikes
	// (RFC 8628 §6.1).
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLength   = 8
	deviceCodeTTL    = 10 * time.Minute
	devicePollEvery  = 5 * time.Second
)

// DeviceAuthorization is the device authorization response (RFC 8628 §3.2).
type DeviceAuthorization struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// AuthorizeDevice serves the device authorization endpoint (RFC 8628 §3.1).
func (ds *decisionService) AuthorizeDevice(ctx context.Context, cred ClientCredentials, form url.Values) (*DeviceAuthorization, error) {
	client, err := ds.clients.AuthenticateClient(ctx, cred)
	if err != nil {
		return nil, err
	}
	if !client.HasGrantType(GrantDeviceCode) {
		return nil, ErrUnauthorizedClient.WithDescription("the client is not registered for the device grant")
	}
	// The device flow keeps no authorization details and shows none on
	// the device page: refused rather than dropped.
	if form.Get(paramAuthorizationDetails) != "" {
		return nil, ErrInvalidAuthorizationDetails.WithDescription("authorization_details is not supported in the device flow")
	}
	scopes, ok := ParseScope(form.Get("scope"))
	if !ok {
		return nil, ErrInvalidScope.WithDescription("scope has invalid characters")
	}
	if len(scopes) == 0 {
		scopes, _ = ParseScope(client.Scope)
	}
	if !subset(scopes, client.Scope) {
		return nil, ErrInvalidScope.WithDescription("the client may not request this scope")
	}
	now := ds.clock.Now()
	deviceCode := secret.Random(32)
	for attempt := 0; ; attempt++ {
		userCode := newUserCode()
		err := ds.store.CreateDeviceCode(ctx, &ports.DeviceCode{
			Hash: secret.Digest(deviceCode), Tenant: ds.settings.tenant, UserCode: userCode,
			ClientID: client.ID, Scope: JoinScope(scopes), Status: ports.DevicePending,
			Interval: devicePollEvery, CreatedAt: now, ExpiresAt: now.Add(deviceCodeTTL),
		})
		// A user code may collide with a live one: draw again.
		if errors.Is(err, ports.ErrConflict) && attempt < 5 {
			continue
		}
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		shown := userCode[:4] + "-" + userCode[4:]
		return &DeviceAuthorization{
			DeviceCode: deviceCode, UserCode: shown,
			VerificationURI:         ds.settings.deviceVerificationURI,
			VerificationURIComplete: ds.settings.deviceVerificationURI + "?user_code=" + url.QueryEscape(shown),
			ExpiresIn:               int64(deviceCodeTTL / time.Second), Interval: int64(devicePollEvery / time.Second),
		}, nil
	}
}

func newUserCode() string {
	b := make([]byte, userCodeLength)
	_, _ = rand.Read(b)
	for i := range b {
		// 256 is not a multiple of 20; the bias is below 2% per
		// character and does not matter for a code that lives minutes
		// and is rate limited.
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b)
}

// NormalizeUserCode turns what a person typed into the stored form: upper
// case, without separators or spaces (RFC 8628 §6.1).
func NormalizeUserCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if strings.ContainsRune(userCodeAlphabet, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// PendingDevice is a device request a person is about to approve.
type PendingDevice struct {
	Client *ports.Client
	Scopes []string
	Code   string // the user code as displayed
}

// LookupDevice finds the pending device request of a user code. ok is
// false for an unknown, expired or already decided code.
func (ds *decisionService) LookupDevice(ctx context.Context, userCode string) (*PendingDevice, bool, error) {
	code := NormalizeUserCode(userCode)
	if len(code) != userCodeLength {
		return nil, false, nil
	}
	d, err := ds.store.GetDeviceCodeByUserCode(ctx, ds.settings.tenant, code, ds.clock.Now())
	if errors.Is(err, ports.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, ErrServerError.Wrap(err)
	}
	if d.Status != ports.DevicePending {
		return nil, false, nil
	}
	c, err := ds.store.GetClient(ctx, ds.settings.tenant, d.ClientID)
	if err != nil {
		return nil, false, nil
	}
	scopes, _ := ParseScope(d.Scope)
	return &PendingDevice{Client: c, Scopes: scopes, Code: code[:4] + "-" + code[4:]}, true, nil
}

// DecideDevice records the person's answer for a user code.
func (ds *decisionService) DecideDevice(ctx context.Context, userCode string, sess *ports.Session, approve bool) error {
	gone := ErrInvalidRequest.WithDescription("the code is unknown, expired or already used")
	code, now := NormalizeUserCode(userCode), ds.clock.Now()
	status := ports.DeviceDenied
	var (
		consent *ports.Consent
		evs     []ports.Event
	)
	if approve {
		status = ports.DeviceApproved
		// The approval is the person's consent: remembered with it, so
		// that the account page lists the device's application and can
		// withdraw it.
		d, err := ds.store.GetDeviceCodeByUserCode(ctx, ds.settings.tenant, code, now)
		if errors.Is(err, ports.ErrNotFound) || err == nil && d.Status != ports.DevicePending {
			return gone
		}
		if err != nil {
			return ErrServerError.Wrap(err)
		}
		scopes, _ := ParseScope(d.Scope)
		var granted ports.Event
		if consent, granted, err = ds.clients.consentOf(ctx, sess.UserID, d.ClientID, scopes, map[string]string{"flow": "device"}); err != nil {
			return err
		}
		evs = append(evs, granted)
	}
	err := ds.store.DecideDeviceCode(ctx, ds.settings.tenant, code, status, sess.UserID, sess.ID, sess.AuthTime, now, consent, evs...)
	if errors.Is(err, ports.ErrNotFound) || errors.Is(err, ports.ErrAlreadyUsed) {
		return gone
	}
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	return nil
}

// DeviceVerificationURI is where people enter user codes.
func (p *Provider) DeviceVerificationURI() string { return p.cfg.Issuer + "/device" }

// DeviceAuthorizationEndpoint is the device authorization endpoint URL.
func (p *Provider) DeviceAuthorizationEndpoint() string {
	return p.cfg.Issuer + "/oauth/device_authorization"
}
