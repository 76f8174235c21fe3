package httpapi

import (
	"net/http"
	"strings"
)

const introspectionJWT = "application/token-introspection+jwt"

// introspect serves token introspection (RFC 7662), answering with a signed
// JWT when the client asks for one (RFC 9701 §4).
func (h *handlers) introspect(w http.ResponseWriter, r *http.Request) {
	form, cred, keys, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	proof, ok := h.dpopRequest(w, r)
	if !ok {
		return
	}
	in, client, err := h.p.Introspect(r.Context(), cred, form.Get("token"), proof)
	if err != nil {
		h.clientAuthError(w, r, cred, keys, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), introspectionJWT) {
		tok, err := h.p.SignIntrospection(client, in)
		if err != nil {
			h.oauthError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", introspectionJWT)
		_, _ = w.Write([]byte(tok)) // #nosec G705 -- a compact JWS (base64url and dots) this server signed, sent as application/token-introspection+jwt with nosniff
		return
	}
	writeJSON(w, http.StatusOK, in)
}

// par serves pushed authorization requests (RFC 9126 §2).
func (h *handlers) par(w http.ResponseWriter, r *http.Request) {
	form, cred, keys, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	proof, ok := h.dpopRequest(w, r)
	if !ok {
		return
	}
	resp, err := h.p.PushAuthorizationRequest(r.Context(), cred, form, proof)
	if err != nil {
		h.clientAuthError(w, r, cred, keys, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, resp)
}

// revoke serves token revocation (RFC 7009 §2).
func (h *handlers) revoke(w http.ResponseWriter, r *http.Request) {
	form, cred, keys, ok := h.clientRequest(w, r)
	if !ok {
		return
	}
	proof, ok := h.dpopRequest(w, r)
	if !ok {
		return
	}
	if err := h.p.Revoke(r.Context(), cred, form.Get("token"), proof); err != nil {
		h.clientAuthError(w, r, cred, keys, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
