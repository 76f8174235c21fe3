package httpapi

import (
	"crypto/subtle"
	"net/http"
	"time"

	"oauth2-server.dev/core/keyset"
)

// adminAuth guards the admin API with the operator's bearer token. Without
// a configured token the admin API does not exist.
func adminAuth(token string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if token == "" {
				writeJSONError(w, http.StatusNotFound, "invalid_request", "the admin API is disabled: set OAUTH2_ADMIN_TOKEN")
				return
			}
			if subtle.ConstantTimeCompare([]byte(bearerValue(r)), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
				writeJSONError(w, http.StatusUnauthorized, "invalid_token", "a valid admin token is required")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// adminKey describes a signing key to operators; never its private part.
type adminKey struct {
	ID        string     `json:"kid"`
	Algorithm string     `json:"alg"`
	State     string     `json:"state"`
	CreatedAt time.Time  `json:"created_at"`
	NotBefore time.Time  `json:"not_before"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func describeKeys(keys []*keyset.Key, now time.Time) []adminKey {
	out := make([]adminKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, adminKey{
			ID: k.ID, Algorithm: k.Algorithm, State: k.State(now), CreatedAt: k.CreatedAt,
			NotBefore: k.NotBefore, RetiredAt: k.RetiredAt, ExpiresAt: k.ExpiresAt,
		})
	}
	return out
}

func (h *handlers) adminListKeys(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"keys": describeKeys(h.p.Keys().Keys(), time.Now())})
}

// adminRotateKeys starts a key rotation and answers with the new keys.
func (h *handlers) adminRotateKeys(w http.ResponseWriter, r *http.Request) {
	created, err := h.p.RotateKeys(r.Context())
	if err != nil {
		h.oauthError(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "signing keys rotated", "request_id", RequestIDFrom(r.Context()), "keys", len(created))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"rotated": describeKeys(created, time.Now())})
}
