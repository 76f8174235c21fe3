package core

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"oauth2-server.dev/core/mtls"
	"oauth2-server.dev/ports"
)

// Mutual-TLS client authentication methods (RFC 8705 §2.1, §2.2).
const (
	AuthMethodTLSClient           = "tls_client_auth"
	AuthMethodSelfSignedTLSClient = "self_signed_tls_client_auth"
)

// certificateBoundKey is the registration member of RFC 8705 §3.4.
const certificateBoundKey = "tls_client_certificate_bound_access_tokens"

func isCertificateMethod(method string) bool {
	return method == AuthMethodTLSClient || method == AuthMethodSelfSignedTLSClient
}

// ClientCertificatesEnabled reports whether the server receives TLS
// client certificates: from its own listener, or from a trusted proxy.
func (cs *clientService) ClientCertificatesEnabled() bool { return cs.settings.clientCertificates }

// certificateAuthMethods lists the certificate methods that work:
// self_signed_tls_client_auth with any source of certificates,
// tls_client_auth only with a CA to verify chains against.
func (cs *clientService) certificateAuthMethods() []string {
	if !cs.settings.clientCertificates {
		return nil
	}
	if cs.clientCAs.Load() == nil {
		return []string{AuthMethodSelfSignedTLSClient}
	}
	return []string{AuthMethodTLSClient, AuthMethodSelfSignedTLSClient}
}

// SetClientCAs replaces the CAs that tls_client_auth chains must lead to,
// for a reload of the operator's CA file. A provider started without CAs
// keeps tls_client_auth off, and nil keeps the CAs it has.
func (cs *clientService) SetClientCAs(pool *x509.CertPool) {
	if pool != nil && cs.clientCAs.Load() != nil {
		cs.clientCAs.Store(pool)
	}
}

// authenticateCertificate authenticates a client of a certificate method
// by the certificate of its TLS connection. The handshake proved that the
// client holds the certificate's private key; what remains is whether the
// certificate is the client's.
func (cs *clientService) authenticateCertificate(ctx context.Context, c *ports.Client, certs []*x509.Certificate) (*ports.Client, error) {
	fail := func(why string) *Error {
		return ErrInvalidClient.WithDescription("client certificate rejected: " + why)
	}
	if !cs.settings.clientCertificates {
		return nil, fail("this server receives no TLS client certificates")
	}
	if len(certs) == 0 {
		return nil, ErrInvalidClient.WithDescription("no TLS client certificate was presented; connect with the certificate the client registered")
	}
	leaf, now := certs[0], cs.clock.Now()
	if err := mtls.CheckValidity(leaf, now); err != nil {
		return nil, ErrInvalidClient.WithDescription(err.Error())
	}
	switch c.TokenEndpointAuth {
	case AuthMethodTLSClient:
		pool := cs.clientCAs.Load()
		if pool == nil {
			return nil, fail("tls_client_auth is not available on this server")
		}
		intermediates := x509.NewCertPool()
		for _, ic := range certs[1:] {
			intermediates.AddCert(ic)
		}
		// RFC 8705 §2.1: the chain leads to a CA the server trusts.
		if _, err := leaf.Verify(x509.VerifyOptions{
			Roots: pool, Intermediates: intermediates, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}); err != nil {
			return nil, fail(chainError(err)).Wrap(err)
		}
		// RFC 8705 §2.1.2: the certificate carries the one subject value
		// the client registered.
		subject, ok := registeredSubject(c)
		if !ok {
			return nil, fail("the client registered no certificate subject")
		}
		if !subject.Matches(leaf) {
			return nil, fail("the certificate does not carry the registered " + subject.Member)
		}
	case AuthMethodSelfSignedTLSClient:
		// A self-issued certificate must at least verify with its own
		// key; a mangled one is refused rather than matched.
		if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
			leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
			return nil, fail("the self-signed certificate's signature does not verify with its own key")
		}
		// RFC 8705 §2.2.2: the certificate is one the client registered.
		if err := cs.matchRegisteredCertificate(ctx, c, leaf); err != nil {
			return nil, fail(err.Error())
		}
	default:
		return nil, fail("the client is not registered for a certificate method")
	}
	return c, nil
}

// chainError says in words why a chain did not verify.
func chainError(err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return "the certificate is not issued by a CA this server trusts for client certificates"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "a certificate of the chain has expired or is not valid yet"
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return "the certificate is not for TLS client authentication (extended key usage)"
	case errors.As(err, &invalid) && invalid.Reason == x509.NotAuthorizedToSign:
		return "a certificate of the chain is not a CA certificate"
	}
	return "the certificate chain does not verify"
}

// registeredSubject is the subject value of a tls_client_auth client.
// Registration admits exactly one.
func registeredSubject(c *ports.Client) (mtls.Subject, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(c.Metadata, &m) != nil {
		return mtls.Subject{}, false
	}
	for _, member := range mtls.SubjectMembers {
		var v string
		if raw, ok := m[member]; ok && json.Unmarshal(raw, &v) == nil && v != "" {
			return mtls.Subject{Member: member, Value: v}, true
		}
	}
	return mtls.Subject{}, false
}

// matchRegisteredCertificate finds the certificate among the client's
// registered keys: as the first certificate of a key's x5c, or as the
// key itself. A jwks_uri is fetched once more when nothing matches, as
// the client may have rotated its certificate.
func (cs *clientService) matchRegisteredCertificate(ctx context.Context, c *ports.Client, leaf *x509.Certificate) error {
	meta := cs.dir.metadata(c).clientKeysMetadata
	set, err := cs.clientKeySet(ctx, meta, false)
	if err != nil {
		return err
	}
	if certificateInSet(set, leaf) {
		return nil
	}
	nomatch := errors.New("the certificate matches none of the client's registered keys")
	if meta.JWKSURI == "" {
		return nomatch
	}
	if set, err = cs.clientKeySet(ctx, meta, true); err != nil || !certificateInSet(set, leaf) {
		return nomatch
	}
	return nil
}

func certificateInSet(set jwk.Set, leaf *x509.Certificate) bool {
	der := base64.StdEncoding.EncodeToString(leaf.Raw)
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if chain, ok := k.X509CertChain(); ok && chain.Len() > 0 {
			if first, ok := chain.Get(0); ok && string(first) == der {
				return true
			}
		}
		var raw any
		if jwk.Export(k, &raw) != nil {
			continue
		}
		if pub, ok := raw.(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(leaf.PublicKey) {
			return true
		}
	}
	return false
}

// certificateBound reports whether the client registered
// tls_client_certificate_bound_access_tokens (RFC 8705 §3.4). The
// metadata is decoded only when the member is there at all, which keeps
// the check off the path of every other client.
func certificateBound(c *ports.Client) bool {
	if !bytes.Contains(c.Metadata, []byte(`"`+certificateBoundKey+`"`)) {
		return false
	}
	var m struct {
		Bound bool `json:"tls_client_certificate_bound_access_tokens"`
	}
	_ = json.Unmarshal(c.Metadata, &m)
	return m.Bound
}

// presentedCertificateKey carries the x5t#S256 of the client certificate
// of a token request through the grant to the minting and to the checks
// of bound refresh and subject tokens: every grant issues through issue,
// and the grants need not know about certificates.
type presentedCertificateKey struct{}

// withPresentedCertificate records the request's client certificate for
// the grant. A client registered for bound tokens must present one, and
// one that is in its validity period.
func (cs *clientService) withPresentedCertificate(ctx context.Context, c *ports.Client, certs []*x509.Certificate) (context.Context, error) {
	bound := certificateBound(c)
	if len(certs) == 0 {
		if bound {
			// RFC 8705 §3.4: the client asked for certificate-bound
			// tokens; a bearer token is not what it registered for.
			return ctx, ErrInvalidRequest.WithDescription("this client registered tls_client_certificate_bound_access_tokens; present its TLS client certificate with every token request")
		}
		return ctx, nil
	}
	if bound {
		if err := mtls.CheckValidity(certs[0], cs.clock.Now()); err != nil {
			return ctx, ErrInvalidRequest.WithDescription(err.Error())
		}
	}
	return context.WithValue(ctx, presentedCertificateKey{}, mtls.Thumbprint(certs[0])), nil
}

// presentedCertificate is the x5t#S256 of the token request's client
// certificate; "" without one.
func presentedCertificate(ctx context.Context) string {
	s, _ := ctx.Value(presentedCertificateKey{}).(string)
	return s
}

// certificateBinding is the x5t#S256 that the tokens issued to c in ctx
// are bound to (RFC 8705 §3.1), "" for tokens not bound to a certificate.
func certificateBinding(ctx context.Context, c *ports.Client) string {
	x5t := presentedCertificate(ctx)
	if x5t == "" || !certificateBound(c) {
		return ""
	}
	return x5t
}

// checkCertificateBinding refuses a certificate-bound access token
// presented at a resource over a connection without its certificate (RFC
// 8705 §3).
func checkCertificateBinding(tok *ports.Token, certs []*x509.Certificate) error {
	switch {
	case tok.X5TS256 == "":
		return nil
	case len(certs) == 0:
		return ErrInvalidToken.WithDescription("the access token is bound to a client certificate; present it over a TLS connection with that certificate")
	case mtls.Thumbprint(certs[0]) != tok.X5TS256:
		return ErrInvalidToken.WithDescription("the access token is bound to another client certificate than the one presented")
	}
	return nil
}

// checkCertificateMetadata validates the certificate members of a
// registration (RFC 8705 §2.1.2, §3.4). keys says whether the client
// registered jwks or a jwks_uri.
func (cs *clientService) checkCertificateMetadata(method string, raw map[string]json.RawMessage, keys bool) error {
	bad := func(d string) error { return ErrInvalidClientMetadata.WithDescription(d) }
	var subjects []mtls.Subject
	for _, member := range mtls.SubjectMembers {
		v, ok := raw[member]
		if !ok || bytes.Equal(v, []byte("null")) {
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return bad(member + " must be a string")
		}
		subject := mtls.Subject{Member: member, Value: s}
		if err := subject.Validate(); err != nil {
			return bad(member + ": " + err.Error())
		}
		subjects = append(subjects, subject)
	}
	switch method {
	case AuthMethodTLSClient:
		// RFC 8705 §2.1.2: exactly one of the subject members.
		if len(subjects) != 1 {
			return bad("tls_client_auth needs exactly one of tls_client_auth_subject_dn, tls_client_auth_san_dns, tls_client_auth_san_uri, tls_client_auth_san_ip and tls_client_auth_san_email")
		}
	case AuthMethodSelfSignedTLSClient:
		// RFC 8705 §2.2.2: the certificates are registered as keys.
		if !keys {
			return bad("self_signed_tls_client_auth needs jwks or jwks_uri holding the client's certificates")
		}
	}
	if v, ok := raw[certificateBoundKey]; ok {
		var bound bool
		if json.Unmarshal(v, &bound) != nil {
			return bad(certificateBoundKey + " must be a boolean")
		}
		if bound && !cs.settings.clientCertificates {
			return bad(certificateBoundKey + " is not supported: this server receives no TLS client certificates")
		}
	}
	return nil
}
