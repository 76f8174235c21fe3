package core

import (
	"context"
	"crypto/x509"
	"errors"

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

// AuthenticateClient checks the credentials against the registered client.
// Every failure is invalid_client; those of secrets share one description,
// so a caller cannot tell an unknown client from a wrong secret, while
// those of assertions and certificates say what the client must fix.
func (p *Provider) AuthenticateClient(ctx context.Context, cred ClientCredentials) (*ports.Client, error) {
	if cred.Assertion != "" {
		return p.authenticateAssertion(ctx, cred)
	}
	fail := ErrInvalidClient.WithDescription("client authentication failed")
	if cred.ID == "" {
		return nil, fail
	}
	c, err := p.client(ctx, cred.ID)
	if errors.Is(err, ports.ErrNotFound) {
		// Spend the same work as a real check so timing does not reveal
		// which client ids exist.
		p.secrets.Verify("", cred.Secret)
		return nil, fail
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	// RFC 8705 §2: a client of a certificate method names itself with
	// client_id alone and authenticates with its connection's certificate.
	if cred.Method == ports.AuthMethodNone && isCertificateMethod(c.TokenEndpointAuth) {
		return p.authenticateCertificate(ctx, c, cred.Certificates)
	}
	// RFC 6749 §2.3: a client uses the one method it registered.
	if cred.Method != c.TokenEndpointAuth {
		return nil, fail.Wrap(errors.New("client used " + cred.Method + ", registered " + c.TokenEndpointAuth))
	}
	switch c.TokenEndpointAuth {
	case ports.AuthMethodNone:
		return c, nil
	case ports.AuthMethodSecretBasic, ports.AuthMethodSecretPost:
		if c.SecretHash == "" || !p.secrets.Verify(c.SecretHash, cred.Secret) {
			return nil, fail
		}
		return c, nil
	}
	return nil, fail
}
