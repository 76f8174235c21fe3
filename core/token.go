package core

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/url"
	"slices"

	"oauth2-server.dev/core/dpop"
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

// tokenService is the token endpoint (RFC 6749 §3.2): it authenticates
// the client, checks its DPoP proof and certificate, and hands the request
// to the grant of its grant_type.
type tokenService struct {
	endpoint string
	// grants are the grants the operator's settings leave on, by
	// grant_type; grantTypes their names in the order discovery lists
	// them.
	grants     map[string]grantHandler
	grantTypes []string
	clients    tokenClients
}

// tokenClients authenticates the token endpoint's clients and checks
// their proofs of possession (RFC 9449, RFC 8705).
type tokenClients interface {
	AuthenticateClient(ctx context.Context, cred ClientCredentials) (*ports.Client, error)
	checkDPoP(d DPoPProof, endpoint, accessToken string) (*dpop.Proof, error)
	useDPoP(ctx context.Context, proof *dpop.Proof) error
	withPresentedCertificate(ctx context.Context, c *ports.Client, certs []*x509.Certificate) (context.Context, error)
}

// newTokenService builds the grants of grantRegistry that p's settings
// leave on.
func newTokenService(p *Provider) *tokenService {
	t := &tokenService{endpoint: p.TokenEndpoint(), grants: map[string]grantHandler{}, clients: p}
	for _, g := range grantRegistry {
		if h := g.build(p); h != nil {
			t.grants[g.grantType] = h
			t.grantTypes = append(t.grantTypes, g.grantType)
		}
	}
	return t
}

// GrantTypes lists the grant types the token endpoint accepts; the JWT
// bearer grant only when the operator trusts an issuer, CIBA only with a
// way to reach authentication devices.
func (p *Provider) GrantTypes() []string {
	return slices.Clone(p.tokens.grantTypes)
}

// Token serves the token endpoint.
func (p *Provider) Token(ctx context.Context, req TokenRequest) (*TokenResponse, error) {
	return p.tokens.token(ctx, req)
}

func (t *tokenService) token(ctx context.Context, req TokenRequest) (*TokenResponse, error) {
	if err := RefuseRepeated(req.Form); err != nil {
		return nil, err
	}
	gt := req.Form.Get("grant_type")
	if gt == "" {
		return nil, ErrInvalidRequest.WithDescription("grant_type is missing")
	}
	h, ok := t.grants[gt]
	if !ok {
		return nil, ErrUnsupportedGrantType.WithDescription("grant_type " + gt + " is not supported")
	}
	if err := refuseAuthorizationDetails(gt, req.Form); err != nil {
		return nil, err
	}
	var proof *dpop.Proof
	if req.DPoP.Present() {
		var err error
		if proof, err = t.clients.checkDPoP(req.DPoP, t.endpoint, ""); err != nil {
			return nil, err
		}
	}
	client, err := t.clients.AuthenticateClient(ctx, req.Client)
	if err != nil {
		return nil, err
	}
	if !client.HasGrantType(gt) {
		return nil, ErrUnauthorizedClient.WithDescription("the client is not registered for grant_type " + gt)
	}
	var jkt string
	switch {
	case proof != nil:
		if err := t.clients.useDPoP(ctx, proof); err != nil {
			return nil, err
		}
		jkt = proof.JKT
	case requiresDPoP(client):
		// RFC 9449 §5.2: the client registered dpop_bound_access_tokens.
		return nil, ErrInvalidDPoPProof.WithDescription("this client must send a DPoP proof with its token requests")
	}
	if len(req.Client.Certificates) > 0 || certificateBound(client) {
		if ctx, err = t.clients.withPresentedCertificate(ctx, client, req.Client.Certificates); err != nil {
			return nil, err
		}
	}
	return h.handle(ctx, client, req.Form, jkt)
}
