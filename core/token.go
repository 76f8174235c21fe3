package core

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/url"
	"slices"
	"time"

	"oauth2-server.dev/core/dpop"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
)

// Grant types (RFC 6749 §4).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// TokenRequest is a request to the token endpoint: the form parameters,
// the client credentials the HTTP layer extracted, and the DPoP proof.
type TokenRequest struct {
	Client ClientCredentials
	Form   url.Values
	DPoP   DPoPProof
}

// TokenResponse is a successful token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// IssuedTokenType is set by token exchange (RFC 8693 §2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	// AuthorizationDetails are those of the access token (RFC 9396 §7).
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

// grantHandler handles one grant_type for an authenticated client. jkt is
// the thumbprint of the key of the request's DPoP proof, to which the
// tokens issued are bound (RFC 9449 §5); empty without a proof.
type grantHandler interface {
	handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error)
}

// grantRegistry lists the token endpoint's grants in the order discovery
// advertises them. A grant is a grant_*.go file holding its type, the
// narrow store interface it uses and its constructor, plus one line here.
// build picks from the Provider what the grant needs, and returns nil when
// the operator's settings leave the grant off.
var grantRegistry = []struct {
	grantType string
	build     func(p *Provider) grantHandler
}{
	{GrantAuthorizationCode, newAuthorizationCodeGrant},
	{GrantRefreshToken, newRefreshTokenGrant},
	{GrantClientCredentials, newClientCredentialsGrant},
	{GrantTokenExchange, newTokenExchangeGrant},
	{GrantDeviceCode, newDeviceCodeGrant},
	{GrantJWTBearer, newJWTBearerGrant},
	{GrantCIBA, newCIBAGrant},
}

// grantBase is what every grant holds: the tenant its store calls name,
// the clock, and the minter that issues its tokens.
type grantBase struct {
	tenant string
	clock  ports.Clock
	mint   *minter
}

func (p *Provider) grantBase() grantBase {
	return grantBase{tenant: p.cfg.Tenant, clock: p.clock, mint: p.mint}
}

// tokenService serves the endpoints that issue and read tokens: the token
// endpoint (RFC 6749 §3.2), which authenticates the client, checks its
// DPoP proof and certificate and hands the request to the grant of its
// grant_type; introspection (RFC 7662), revocation (RFC 7009) and
// UserInfo (OIDC Core §5.3); and the DPoP checks they share (RFC 9449).
type tokenService struct {
	settings  tokenSettings
	endpoints tokenEndpoints
	// grants are the grants the operator's settings leave on, by
	// grant_type; grantTypes their names in the order discovery lists
	// them.
	grants     map[string]grantHandler
	grantTypes []string
	store      tokenStore
	clock      ports.Clock
	keys       *keyset.Set
	// dir reads clients and users, and caches token records and
	// verified JWTs.
	dir     *directory
	clients tokenClients
	// nonces issues and checks DPoP nonces; nil when they are not
	// demanded.
	nonces *dpop.Nonces
	*eventSource
}

// tokenEndpoints are the URLs of the token service's endpoints, which
// DPoP proofs and client assertions name.
type tokenEndpoints struct {
	token, introspection, revocation, userinfo string
}

// tokenStore is what the token service reads and changes beyond its
// grants: token records, revocations, and the jtis of DPoP proofs.
type tokenStore interface {
	GetToken(ctx context.Context, tenant, id string) (*ports.Token, error)
	RevokeToken(ctx context.Context, tenant, id string, now time.Time, evs ...ports.Event) error
	RevokeGrant(ctx context.Context, tenant, grantID string, now time.Time, evs ...ports.Event) error
	ports.JTIStore
}

// tokenClients authenticates the clients of the token service's
// endpoints and binds a request to the certificate it presented (RFC
// 8705).
type tokenClients interface {
	AuthenticateClient(ctx context.Context, cred ClientCredentials) (*ports.Client, error)
	withPresentedCertificate(ctx context.Context, c *ports.Client, certs []*x509.Certificate) (context.Context, error)
}

// newTokenService builds the token service and the grants of
// grantRegistry that p's settings leave on.
func newTokenService(p *Provider, nonces *dpop.Nonces) *tokenService {
	ts := &tokenService{
		settings: p.cfg.tokenSettings(),
		endpoints: tokenEndpoints{
			token: p.TokenEndpoint(), introspection: p.IntrospectionEndpoint(),
			revocation: p.RevocationEndpoint(), userinfo: p.UserinfoEndpoint(),
		},
		grants: map[string]grantHandler{}, store: p.store, clock: p.clock, keys: p.keys,
		dir: p.directory, clients: p.clientService, nonces: nonces, eventSource: p.eventSource,
	}
	for _, g := range grantRegistry {
		if h := g.build(p); h != nil {
			ts.grants[g.grantType] = h
			ts.grantTypes = append(ts.grantTypes, g.grantType)
		}
	}
	return ts
}

// GrantTypes lists the grant types the token endpoint accepts; the JWT
// bearer grant only when the operator trusts an issuer, CIBA only with a
// way to reach authentication devices.
func (ts *tokenService) GrantTypes() []string {
	return slices.Clone(ts.grantTypes)
}

// Token serves the token endpoint.
func (ts *tokenService) Token(ctx context.Context, req TokenRequest) (*TokenResponse, error) {
	if err := RefuseRepeated(req.Form); err != nil {
		return nil, err
	}
	gt := req.Form.Get("grant_type")
	if gt == "" {
		return nil, ErrInvalidRequest.WithDescription("grant_type is missing")
	}
	h, ok := ts.grants[gt]
	if !ok {
		return nil, ErrUnsupportedGrantType.WithDescription("grant_type " + gt + " is not supported")
	}
	if err := refuseAuthorizationDetails(gt, req.Form); err != nil {
		return nil, err
	}
	var proof *dpop.Proof
	if req.DPoP.Present() {
		var err error
		if proof, err = ts.checkDPoP(req.DPoP, ts.endpoints.token, ""); err != nil {
			return nil, err
		}
	}
	client, err := ts.clients.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return nil, err
	}
	if !client.HasGrantType(gt) {
		return nil, ErrUnauthorizedClient.WithDescription("the client is not registered for grant_type " + gt)
	}
	var jkt string
	switch {
	case proof != nil:
		if err := ts.useDPoP(ctx, proof); err != nil {
			return nil, err
		}
		jkt = proof.JKT
	case requiresDPoP(client):
		// RFC 9449 §5.2: the client registered dpop_bound_access_tokens.
		return nil, ErrInvalidDPoPProof.WithDescription("this client must send a DPoP proof with its token requests")
	}
	if len(req.Client.Certificates) > 0 || certificateBound(client) {
		if ctx, err = ts.clients.withPresentedCertificate(ctx, client, req.Client.Certificates); err != nil {
			return nil, err
		}
	}
	return h.handle(ctx, client, req.Form, jkt)
}
