package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"

	"oauth2-server.dev/core/dpop"
	"oauth2-server.dev/ports"
)

// Access token types (RFC 6750 §1, RFC 9449 §5).
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

// DPoPProof is the DPoP header of a request (RFC 9449 §4.1) with the
// request's method, which the proof's htm must name. The zero value is a
// request without a proof.
type DPoPProof struct {
	JWT    string
	Method string
}

// Present reports whether the request carried a proof.
func (d DPoPProof) Present() bool { return d.JWT != "" }

// DPoP errors (RFC 9449 §5, §8, §12.2). At a protected resource they are
// answered with 401 and a DPoP challenge instead.
var (
	ErrInvalidDPoPProof = &Error{Code: "invalid_dpop_proof", Status: http.StatusBadRequest}
	ErrUseDPoPNonce     = &Error{Code: "use_dpop_nonce", Status: http.StatusBadRequest}
)

// dpopJTIMargin keeps a proof's jti recorded a little past the end of
// the proof's window, so that clock steps cannot reopen it.
const dpopJTIMargin = dpop.Leeway

// DPoPAlgorithms lists the JWS algorithms accepted on DPoP proofs.
func (p *Provider) DPoPAlgorithms() []string { return dpop.Algorithms }

// DPoPNonce returns a fresh nonce for a DPoP-Nonce response header (RFC
// 9449 §8.2), or "" when the server does not demand nonces.
func (ts *tokenService) DPoPNonce() string {
	if ts.nonces == nil {
		return ""
	}
	return ts.nonces.Issue(ts.clock.Now())
}

// checkDPoP validates a proof sent to endpoint (with accessToken at a
// protected resource) by every check that needs no store: the signature
// and claims of RFC 9449 §4.3 and, when the server demands them, the
// nonce. Endpoints call it before they authenticate the client, so that a
// use_dpop_nonce answer costs the client nothing it cannot send again.
func (ts *tokenService) checkDPoP(d DPoPProof, endpoint, accessToken string) (*dpop.Proof, error) {
	proof, err := dpop.Parse(d.JWT, dpop.Request{Method: d.Method, URL: endpoint, AccessToken: accessToken, Now: ts.clock.Now()})
	if err != nil {
		return nil, ErrInvalidDPoPProof.WithDescription(err.Error())
	}
	if ts.nonces != nil {
		// RFC 9449 §8: the server demands its nonce; the answer carries
		// one in DPoP-Nonce for the client to retry with.
		if proof.Nonce == "" {
			return nil, ErrUseDPoPNonce.WithDescription("the server requires a nonce in DPoP proofs; use the one in the DPoP-Nonce header")
		}
		if !ts.nonces.Check(proof.Nonce, ts.clock.Now()) {
			return nil, ErrUseDPoPNonce.WithDescription("the DPoP nonce is unknown or expired; use the one in the DPoP-Nonce header")
		}
	}
	return proof, nil
}

// useDPoP records the proof's jti, so that the proof is accepted once
// (RFC 9449 §11.1), on every replica. The jti is namespaced by the key:
// clients choose jtis, and one client's cannot block another's.
func (ts *tokenService) useDPoP(ctx context.Context, proof *dpop.Proof) error {
	err := ts.store.UseJTI(ctx, ts.settings.tenant, "dpop|"+proof.JKT+"|"+proof.JTI,
		proof.IssuedAt.Add(dpop.MaxAge+dpopJTIMargin), ts.clock.Now())
	if errors.Is(err, ports.ErrAlreadyUsed) {
		return ErrInvalidDPoPProof.WithDescription("the DPoP proof was used before; make a new one for every request")
	}
	if err != nil {
		return ErrServerError.Wrap(err)
	}
	return nil
}

// dpopBoundKey is the registration member of RFC 9449 §5.2.
var dpopBoundKey = []byte(`"dpop_bound_access_tokens"`)

// requiresDPoP reports whether the client registered
// dpop_bound_access_tokens (RFC 9449 §5.2): its token requests must carry
// a proof. The metadata is decoded only when the member is there at all,
// which keeps the check off the path of every other client.
func requiresDPoP(c *ports.Client) bool {
	if !bytes.Contains(c.Metadata, dpopBoundKey) {
		return false
	}
	var m struct {
		Bound bool `json:"dpop_bound_access_tokens"`
	}
	_ = json.Unmarshal(c.Metadata, &m)
	return m.Bound
}

// confirmation is the cnf claim of a sender-constrained token (RFC 7800
// §3.1, RFC 9449 §6.1, RFC 8705 §3.1).
type confirmation struct {
	JKT     string `json:"jkt,omitempty"`
	X5TS256 string `json:"x5t#S256,omitempty"`
}

func confirmationOf(jkt, x5t string) *confirmation {
	if jkt == "" && x5t == "" {
		return nil
	}
	return &confirmation{JKT: jkt, X5TS256: x5t}
}

// ResourceRequest is a request to a protected resource of the server
// (UserInfo): the access token, the authorization scheme it came with,
// the DPoP proof and the TLS client certificate chain, if any.
type ResourceRequest struct {
	Token string
	// Scheme is TokenTypeBearer or TokenTypeDPoP (RFC 9449 §7.1).
	Scheme       string
	DPoP         DPoPProof
	Certificates []*x509.Certificate
}

// resourceToken resolves the access token of a resource request to
// endpoint and checks its binding: a DPoP-bound token is good only with
// the DPoP scheme and a proof of its key that names the token in ath (RFC
// 9449 §7.1), an unbound one only as a bearer token.
func (ts *tokenService) resourceToken(ctx context.Context, req ResourceRequest, endpoint string) (*ports.Token, error) {
	tok, err := ts.LookupAccessToken(ctx, req.Token)
	if err != nil {
		return nil, err
	}
	if err := checkCertificateBinding(tok, req.Certificates); err != nil {
		return nil, err
	}
	unauthorized := func(e *Error) error { return e.withStatus(http.StatusUnauthorized) }
	switch {
	case tok.JKT == "" && req.Scheme == TokenTypeDPoP:
		return nil, ErrInvalidToken.WithDescription("the access token is not DPoP-bound; present it with the Bearer scheme")
	case tok.JKT == "":
		return tok, nil
	case req.Scheme != TokenTypeDPoP:
		// RFC 9449 §7.2: a DPoP-bound token is never accepted as a
		// bearer token.
		return nil, ErrInvalidToken.WithDescription("the access token is DPoP-bound; present it with the DPoP scheme and a DPoP proof")
	case !req.DPoP.Present():
		return nil, unauthorized(ErrInvalidDPoPProof.WithDescription("a DPoP proof is required with the DPoP scheme"))
	}
	proof, err := ts.checkDPoP(req.DPoP, endpoint, req.Token)
	if err != nil {
		return nil, unauthorized(AsError(err))
	}
	// RFC 9449 §7.1: the proof's key is the one the token is bound to.
	if proof.JKT != tok.JKT {
		return nil, ErrInvalidToken.WithDescription("the DPoP proof is not signed by the key the access token is bound to")
	}
	if err := ts.useDPoP(ctx, proof); err != nil {
		if e := AsError(err); e.Code != ErrServerError.Code {
			return nil, unauthorized(e)
		}
		return nil, err
	}
	return tok, nil
}
