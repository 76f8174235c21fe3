package httpapi

import (
	"net/http"
	"strings"

	"oauth2-server.dev/core"
)

// userinfo serves the UserInfo endpoint (OIDC Core §5.3) by GET or POST.
func (h *handlers) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, err := bearerToken(r)
	if err != nil {
		h.bearerError(w, r, err)
		return
	}
	resp, err := h.p.Userinfo(r.Context(), tok)
	if err != nil {
		h.bearerError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// errNoToken answers a request that sent no access token at all; RFC 6750
// §3.1 wants a bare challenge then, without an error code.
var errNoToken = &core.Error{Code: "invalid_token", Description: "an access token is required", Status: http.StatusUnauthorized}

// bearerToken reads an access token from the Authorization header or, for
// a form POST, the access_token parameter (RFC 6750 §2.1, §2.2). Using both
// is an error.
func bearerToken(r *http.Request) (string, error) {
	var tok string
	if r.Header.Get("Authorization") != "" {
		if tok = bearerValue(r); tok == "" {
			return "", core.ErrInvalidToken.WithDescription("the Authorization header must carry a Bearer token")
		}
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return "", formError(err)
		}
		if v := r.PostForm.Get("access_token"); v != "" {
			if tok != "" {
				return "", core.ErrInvalidRequest.WithDescription("send the access token one way only")
			}
			tok = v
		}
	}
	if tok == "" {
		return "", errNoToken
	}
	return tok, nil
}
