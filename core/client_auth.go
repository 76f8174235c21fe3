package core

import (
	"context"
	"crypto/x509"
	"errors"
	"sync/atomic"
	"time"

	"oauth2-server.dev/core/secret"

	"oauth2-server.dev/ports"
)

// ClientCredentials is what a client presented at an endpoint that
// authenticates clients. Method says how it arrived (RFC 7591 §2 names):
// client_secret_basic, client_secret_post, or none for a bare client_id.
type ClientCredentials struct {
	ID     string
	Secret string
	Method string
	// Assertion is a client_assertion JWT (RFC 7523 §2.2); Method is then
	// private_key_jwt.
	Assertion string
	// Certificates is the TLS client certificate chain of the request,
	// the client's own certificate first, as the handshake or a trusted
	// proxy delivered it; nil without one. A client of a certificate
	// method (RFC 8705 §2) sends a bare client_id, Method none.
	Certificates []*x509.Certificate
}

// clientSettings are what the client service needs of the configuration.
type clientSettings struct {
	issuer, tenant string
	// registrationToken guards dynamic registration; off when empty.
	registrationToken string
	// scopeAllowList, when set, limits the scopes a client may register.
	scopeAllowList []string
	// authorizationDetailsTypes are the RFC 9396 types the server
	// accepts.
	authorizationDetailsTypes []string
	// clientCertificates says that TLS client certificates reach the
	// engine (RFC 8705).
	clientCertificates bool
}

func (c Config) clientSettings() clientSettings {
	return clientSettings{
		issuer: c.Issuer, tenant: c.Tenant, registrationToken: c.RegistrationToken,
		scopeAllowList: c.ScopeAllowList, authorizationDetailsTypes: c.AuthorizationDetailsTypes,
		clientCertificates: c.ClientCertificates,
	}
}

// clientService keeps the clients: dynamic registration and its
// management API (RFC 7591, RFC 7592), the operator's client operations,
// and client authentication by secret, assertion (RFC 7523) and
// certificate (RFC 8705).
type clientService struct {
	settings clientSettings
	store    clientStore
	clock    ports.Clock
	// dir reads clients through the cache.
	dir *directory
	// secrets hash client secrets and registration access tokens; sealer
	// encrypts the secrets of client_secret_jwt clients, nil when that
	// method is off.
	secrets *secret.Keyed
	sealer  *secret.Sealer
	// jwksCache holds clients' jwks_uri documents.
	jwksCache *jwksCache
	// clientCAs verify tls_client_auth chains; reloadable.
	clientCAs  atomic.Pointer[x509.CertPool]
	background *backgroundWork
	// server checks what a registration names of the rest of the
	// server: its grants, request URIs, CIBA modes, outbound URLs and
	// endpoints.
	server registrationChecks
	*eventSource
}

// clientStore is what the client service reads and changes: clients, the
// tokens of a deleted client, and the jtis of client assertions.
type clientStore interface {
	ports.ClientStore
	ports.JTIStore
	RevokeClientTokens(ctx context.Context, tenant, clientID string, now time.Time) (int, error)
}

// registrationChecks are the checks of a registration that concern other
// parts of the server.
type registrationChecks interface {
	GrantTypes() []string
	checkRequestURIs(uris []string) string
	checkCIBAMetadata(m clientMetadata) string
	checkCalledURL(name, raw string) string
	TokenEndpoint() string
	IntrospectionEndpoint() string
	RevocationEndpoint() string
	BackchannelAuthenticationEndpoint() string
	RegistrationEndpoint() string
}

// AuthenticateClient checks the credentials against the registered client.
// Every failure is invalid_client; those of secrets share one description,
// so a caller cannot tell an unknown client from a wrong secret, while
// those of assertions and certificates say what the client must fix.
func (cs *clientService) AuthenticateClient(ctx context.Context, cred ClientCredentials) (*ports.Client, error) {
	if cred.Assertion != "" {
		return cs.authenticateAssertion(ctx, cred)
	}
	fail := ErrInvalidClient.WithDescription("client authentication failed")
	if cred.ID == "" {
		return nil, fail
	}
	c, err := cs.dir.client(ctx, cred.ID)
	if errors.Is(err, ports.ErrNotFound) {
		// Spend the same work as a real check so timing does not reveal
		// which client ids exist.
		cs.secrets.Verify("", cred.Secret)
		return nil, fail
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	// RFC 8705 §2: a client of a certificate method names itself with
	// client_id alone and authenticates with its connection's certificate.
	if cred.Method == ports.AuthMethodNone && isCertificateMethod(c.TokenEndpointAuth) {
		return cs.authenticateCertificate(ctx, c, cred.Certificates)
	}
	// RFC 6749 §2.3: a client uses the one method it registered.
	if cred.Method != c.TokenEndpointAuth {
		return nil, fail.Wrap(errors.New("client used " + cred.Method + ", registered " + c.TokenEndpointAuth))
	}
	switch c.TokenEndpointAuth {
	case ports.AuthMethodNone:
		return c, nil
	case ports.AuthMethodSecretBasic, ports.AuthMethodSecretPost:
		if c.SecretHash == "" || !cs.secrets.Verify(c.SecretHash, cred.Secret) {
			return nil, fail
		}
		return c, nil
	}
	return nil, fail
}
