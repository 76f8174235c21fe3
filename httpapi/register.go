package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"oauth2-server.dev/core"
)

// register serves dynamic client registration (RFC 7591 §3).
func (h *handlers) register(w http.ResponseWriter, r *http.Request) {
	body, ok := h.jsonBody(w, r, core.ErrInvalidClientMetadata.Code)
	if !ok {
		return
	}
	resp, err := h.p.RegisterClient(r.Context(), bearerValue(r), body)
	if err != nil {
		h.registrationError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, resp)
}

// readRegistration serves an RFC 7592 §2.1 read of a client's registration.
func (h *handlers) readRegistration(w http.ResponseWriter, r *http.Request) {
	resp, err := h.p.ReadClientRegistration(r.Context(), chi.URLParam(r, "client_id"), bearerValue(r))
	if err != nil {
		h.registrationError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// updateRegistration serves an RFC 7592 §2.2 update.
func (h *handlers) updateRegistration(w http.ResponseWriter, r *http.Request) {
	body, ok := h.jsonBody(w, r, core.ErrInvalidClientMetadata.Code)
	if !ok {
		return
	}
	resp, err := h.p.UpdateClientRegistration(r.Context(), chi.URLParam(r, "client_id"), bearerValue(r), body)
	if err != nil {
		h.registrationError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// deleteRegistration serves an RFC 7592 §2.3 delete.
func (h *handlers) deleteRegistration(w http.ResponseWriter, r *http.Request) {
	if err := h.p.DeleteClientRegistration(r.Context(), chi.URLParam(r, "client_id"), bearerValue(r)); err != nil {
		h.registrationError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// jsonBody reads an application/json body, answering the error itself
// with the error code code.
func (h *handlers) jsonBody(w http.ResponseWriter, r *http.Request, code string) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeJSONError(w, http.StatusBadRequest, code, "the body must be application/json")
		return nil, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		h.oauthError(w, r, formError(err))
		return nil, false
	}
	return body, true
}

func (h *handlers) registrationError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, core.ErrInvalidToken) {
		h.bearerError(w, r, err)
		return
	}
	h.oauthError(w, r, err)
}

func bearerValue(r *http.Request) string {
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(value)
}
