package core

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// Pushed authorization requests (RFC 9126).
const (
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
	// parIDPrefix keeps pushed requests apart from the pending requests of
	// the sign-in flow, which live in the same store.
	parIDPrefix = "par-"
	// parLifetime is short: a request_uri is used at once, by a browser
	// the client redirects right after pushing (RFC 9126 §2.2).
	parLifetime = 60 * time.Second
)

// PushedRequest is the answer to a pushed authorization request.
type PushedRequest struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int64  `json:"expires_in"`
}

// PushAuthorizationRequest serves the PAR endpoint (RFC 9126 §2): it
// authenticates the client, validates the request as the authorization
// endpoint would, and stores it for a single use. Errors are answered to
// the client directly, never redirected. A DPoP proof binds the code to
// its key as dpop_jkt would (RFC 9449 §10.1).
func (az *authorizationService) PushAuthorizationRequest(ctx context.Context, cred ClientCredentials, form url.Values, d DPoPProof) (*PushedRequest, error) {
	client, proof, err := az.clients.authenticateWithProof(ctx, cred, d, az.settings.parEndpoint)
	if err != nil {
		return nil, err
	}
	// RFC 9126 §2.1: request_uri must not be pushed.
	if form.Get("request_uri") != "" {
		return nil, ErrInvalidRequest.WithDescription("request_uri cannot be pushed")
	}
	params := url.Values{}
	for k, v := range form {
		switch k {
		case "client_secret", "client_assertion", "client_assertion_type":
			continue
		}
		params[k] = v
	}
	if id := params.Get("client_id"); id != "" && id != client.ID {
		return nil, ErrInvalidRequest.WithDescription("client_id differs from the authenticated client")
	}
	params.Set("client_id", client.ID)
	if params.Get("request") != "" {
		// RFC 9126 §3: a pushed request may be a request object.
		if params, err = az.requestObjectParams(ctx, params); err != nil {
			return nil, err
		}
	}
	if proof != nil {
		// RFC 9449 §10.1: the proof's key becomes the dpop_jkt; a
		// dpop_jkt sent as well must name the same key.
		if jkt := params.Get("dpop_jkt"); jkt != "" && jkt != proof.JKT {
			return nil, ErrInvalidDPoPProof.WithDescription("dpop_jkt does not match the key of the DPoP proof")
		}
		params.Set("dpop_jkt", proof.JKT)
	}
	_, redirectErr, err := az.parseAuthorize(ctx, params)
	if err != nil {
		return nil, err
	}
	if redirectErr != nil {
		return nil, redirectErr
	}
	now := az.clock.Now()
	ar := &ports.AuthRequest{
		ID: parIDPrefix + secret.Random(24), Tenant: az.settings.tenant, ClientID: client.ID,
		Params: params.Encode(), CreatedAt: now, ExpiresAt: now.Add(parLifetime),
	}
	if err := az.store.CreateAuthRequest(ctx, ar); err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	return &PushedRequest{RequestURI: requestURIPrefix + ar.ID, ExpiresIn: int64(parLifetime / time.Second)}, nil
}

// pushedParams resolves an authorization request that refers to a pushed
// one: its parameters come from the store, used once (RFC 9126 §4).
func (az *authorizationService) pushedParams(ctx context.Context, params url.Values) (url.Values, error) {
	bad := ErrInvalidRequest.WithDescription("request_uri is invalid, expired or already used")
	uri := params.Get("request_uri")
	id, ok := strings.CutPrefix(uri, requestURIPrefix)
	if !ok || !strings.HasPrefix(id, parIDPrefix) || len(params["request_uri"]) > 1 {
		return nil, bad
	}
	stored, err := az.store.ConsumeAuthRequest(ctx, az.settings.tenant, id, az.clock.Now())
	if errors.Is(err, ports.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	// RFC 9126 §4: the client_id of the request must be the one that
	// pushed it.
	if params.Get("client_id") != stored.ClientID {
		return nil, bad
	}
	return url.ParseQuery(stored.Params)
}

// requiresPAR reports whether the client must push its authorization
// requests (RFC 9126 §5, §6).
func (az *authorizationService) requiresPAR(c *ports.Client) bool {
	if az.settings.requirePAR {
		return true
	}
	return registeredMetadata(c).RequirePAR
}

// PAREndpoint is the pushed authorization request endpoint URL.
func (p *Provider) PAREndpoint() string { return p.cfg.Issuer + "/oauth/par" }
