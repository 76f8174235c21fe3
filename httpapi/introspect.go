package httpapi

import (
	"net/http"
	"strings"
)

const introspectionJWT = "application/token-introspection+jwt"

// introspect serves token introspection (RFC 7662), answering with a signed
// JWT when the client asks for one (RFC 9701 §4).
func (h *handlers) introspect(w http.ResponseWriter, r *http.Request) {
	h.serveClient(w, r, withDPoP, func(c clientCall) error {
		in, client, err := h.p.Introspect(r.Context(), c.cred, c.form.Get("token"), c.proof)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		if !strings.Contains(r.Header.Get("Accept"), introspectionJWT) {
			writeJSON(w, http.StatusOK, in)
			return nil
		}
		tok, err := h.p.SignIntrospection(client, in)
		if err != nil {
			// Signing fails on the server's side, never in the
			// client's authentication.
			h.oauthError(w, r, err)
			return nil
		}
		w.Header().Set("Content-Type", introspectionJWT)
		_, _ = w.Write([]byte(tok)) // #nosec G705 -- a compact JWS (base64url and dots) this server signed, sent as application/token-introspection+jwt with nosniff
		return nil
	})
}

// par serves pushed authorization requests (RFC 9126 §2).
func (h *handlers) par(w http.ResponseWriter, r *http.Request) {
	h.serveClient(w, r, withDPoP, func(c clientCall) error {
		resp, err := h.p.PushAuthorizationRequest(r.Context(), c.cred, c.form, c.proof)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, resp)
		return nil
	})
}

// revoke serves token revocation (RFC 7009 §2).
func (h *handlers) revoke(w http.ResponseWriter, r *http.Request) {
	h.serveClient(w, r, withDPoP, func(c clientCall) error {
		if err := h.p.Revoke(r.Context(), c.cred, c.form.Get("token"), c.proof); err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return nil
	})
}
