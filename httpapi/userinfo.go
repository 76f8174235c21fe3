package httpapi

import (
	"crypto/x509"
	"net/http"
	"strings"

	"oauth2-server.dev/core"
)

// userinfo serves the UserInfo endpoint (OIDC Core §5.3) by GET or POST,
// to bearer tokens, to DPoP-bound tokens with their proofs (RFC 9449 §7)
// and to certificate-bound tokens over a connection with their
// certificate (RFC 8705 §3).
func (h *handlers) userinfo(w http.ResponseWriter, r *http.Request) {
	scheme, tok, err := accessToken(r)
	var proof core.DPoPProof
	if scheme == core.TokenTypeDPoP {
		h.dpopNonce(w)
		if err == nil {
			proof, err = dpopProof(r)
		}
	}
	var certs []*x509.Certificate
	if err == nil {
		certs, err = h.clientCertificates(r)
	}
	if err != nil {
		h.resourceError(w, r, scheme, err)
		return
	}
	resp, err := h.p.Userinfo(r.Context(), core.ResourceRequest{Token: tok, Scheme: scheme, DPoP: proof, Certificates: certs})
	if err != nil {
		h.resourceError(w, r, scheme, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// errNoToken answers a request that sent no access token at all; RFC 6750
// §3.1 wants a bare challenge then, without an error code.
var errNoToken = &core.Error{Code: "invalid_token", Description: "an access token is required", Status: http.StatusUnauthorized}

// accessToken reads an access token and its scheme from the Authorization
// header (Bearer, RFC 6750 §2.1, or DPoP, RFC 9449 §7.1) or, for a form
// POST, the access_token parameter (a bearer token, RFC 6750 §2.2). Using
// both is an error. The scheme is known even when the token is not.
func accessToken(r *http.Request) (scheme, token string, err error) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		name, value, _ := strings.Cut(auth, " ")
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, core.TokenTypeBearer):
			scheme = core.TokenTypeBearer
		case strings.EqualFold(name, core.TokenTypeDPoP):
			scheme = core.TokenTypeDPoP
		}
		if scheme == "" || value == "" {
			return scheme, "", core.ErrInvalidToken.WithDescription("the Authorization header must carry a Bearer or DPoP token")
		}
		token = value
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return scheme, "", formError(err)
		}
		if v := r.PostForm.Get("access_token"); v != "" {
			if token != "" {
				return scheme, "", core.ErrInvalidRequest.WithDescription("send the access token one way only")
			}
			scheme, token = core.TokenTypeBearer, v
		}
	}
	if token == "" {
		return scheme, "", errNoToken
	}
	return scheme, token, nil
}
