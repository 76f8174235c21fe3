package httpapi

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"oauth2-server.dev/core"
)

type handlers struct {
	p       *core.Provider
	store   Pinger
	log     *slog.Logger
	pages   map[string]*template.Template
	metrics *metrics
	cookies *cookieJar
	guard   FailureGuard
	certs   certSource
	// adminToken signs the operator in to /admin and /admin/api; both are
	// off without one.
	adminToken string
	// metadata is the discovery document, encoded on first use.
	metadata func() ([]byte, error)
	// draining is Options.Draining.
	draining func() bool
}

func (h *handlers) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready reports whether the store answers within two seconds, and
// whether the server means to go on taking requests.
func (h *handlers) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if h.draining != nil && h.draining() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		h.log.WarnContext(r.Context(), "store not ready", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "store": "unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// discovery serves the metadata document. It follows from the
// configuration alone, so it is encoded once.
func (h *handlers) discovery(w http.ResponseWriter, r *http.Request) {
	doc, err := h.metadata()
	if err != nil {
		h.oauthError(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(doc)))
	_, _ = w.Write(doc)
}

func (h *handlers) jwks(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "application/jwk-set+json")
	if age := h.p.JWKSMaxAge(); age >= time.Second {
		hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(age/time.Second)))
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(h.p.Keys().JWKS())
}
