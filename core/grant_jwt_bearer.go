package core

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// GrantJWTBearer is the JWT bearer authorization grant (RFC 7523 §2.1).
const GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer" // #nosec G101 -- an RFC 7523 identifier, not a credential

// TrustedIssuer is an issuer whose JWTs the operator accepts as
// authorization grants: its keys (an inline JWK set or an https jwks_uri),
// and the clients allowed to present its assertions.
type TrustedIssuer struct {
	Issuer  string
	JWKS    string
	JWKSURI string
	Clients []string
}

// jwtBearerGrant exchanges a JWT from a trusted issuer for an access token
// about the JWT's subject.
type jwtBearerGrant struct {
	grantBase
	store jwtBearerStore
	// issuers are the trusted issuers, jwks the cache of their jwks_uri
	// documents.
	issuers []TrustedIssuer
	jwks    *jwksCache
	// audience tells whether an assertion's aud names this server.
	audience assertionAudience
}

// jwtBearerStore is what the JWT bearer grant changes: the used jtis and
// the tokens.
type jwtBearerStore interface {
	tokenCreator
	ports.JTIStore
}

// newJWTBearerGrant returns the JWT bearer grant, or nil when the operator
// trusts no issuer.
func newJWTBearerGrant(p *Provider) grantHandler {
	if len(p.cfg.TrustedIssuers) == 0 {
		return nil
	}
	return jwtBearerGrant{grantBase: p.grantBase(), store: p.store, issuers: p.cfg.TrustedIssuers, jwks: p.trustedJWKS, audience: p.clientService}
}

func (g jwtBearerGrant) handle(ctx context.Context, client *ports.Client, form url.Values, jkt string) (*TokenResponse, error) {
	assertion := form.Get("assertion")
	if assertion == "" {
		return nil, ErrInvalidRequest.WithDescription("assertion is missing")
	}
	bad := func(why string) error { return ErrInvalidGrant.WithDescription("assertion rejected: " + why) }
	if len(assertion) > maxAssertionSize {
		return nil, bad("too large")
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, bad("not a compact JWS")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims assertionClaims
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil {
		return nil, bad("malformed header or claims")
	}
	// RFC 7523 §3: the issuer must be one the server trusts.
	var trusted *TrustedIssuer
	for i := range g.issuers {
		if g.issuers[i].Issuer == claims.Iss {
			trusted = &g.issuers[i]
		}
	}
	if trusted == nil || claims.Iss == "" {
		return nil, bad("the issuer is not trusted")
	}
	if len(trusted.Clients) > 0 && !slices.Contains(trusted.Clients, client.ID) {
		return nil, ErrUnauthorizedClient.WithDescription("the client may not present assertions of this issuer")
	}
	if !slices.Contains(assertionAlgs, hdr.Alg) {
		return nil, bad("algorithm " + hdr.Alg + " is not accepted")
	}
	var set jwk.Set
	var err error
	if trusted.JWKS != "" {
		set, err = parseClientJWKS([]byte(trusted.JWKS))
	} else {
		set, err = g.jwks.get(ctx, trusted.JWKSURI, false)
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	sig, err := decodeSig(parts[2])
	if err != nil || !verifyWithSet(set, hdr.Alg, hdr.Kid, []byte(parts[0]+"."+parts[1]), sig) {
		return nil, bad("bad signature")
	}
	now := g.clock.Now()
	if claims.Sub == "" {
		return nil, bad("sub is required")
	}
	if why := claims.check(g.audience, now); why != "" {
		return nil, bad(why)
	}
	replayed, err := useJTIOnce(ctx, g.store, g.tenant, "jwt-bearer|"+claims.Iss, &claims, now)
	if err != nil {
		return nil, err
	}
	if replayed {
		return nil, bad("jti was used before")
	}
	want, ok := ParseScope(form.Get("scope"))
	if !ok || !subset(want, client.Scope) {
		return nil, ErrInvalidScope.WithDescription("the client may not request this scope")
	}
	return g.mint.issue(ctx, issueParams{
		grantType: GrantJWTBearer, client: client, grantID: secret.OrderedID(g.clock.Now()), subject: claims.Sub, scope: JoinScope(want),
		noRefresh: true, noIDToken: true, jkt: jkt,
	}, createTokens(ctx, g.store))
}
