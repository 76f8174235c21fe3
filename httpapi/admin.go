package httpapi

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"oauth2-server.dev/core"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
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
	created, err := h.rotateKeys(r)
	if err != nil {
		h.oauthError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"rotated": describeKeys(created, time.Now())})
}

// adminClient describes a client to operators; never its secrets.
type adminClient struct {
	ID                string    `json:"client_id"`
	Name              string    `json:"client_name,omitempty"`
	GrantTypes        []string  `json:"grant_types"`
	ResponseTypes     []string  `json:"response_types"`
	RedirectURIs      []string  `json:"redirect_uris"`
	Scope             string    `json:"scope"`
	TokenEndpointAuth string    `json:"token_endpoint_auth_method"`
	ApplicationType   string    `json:"application_type"`
	AccessTokenFormat string    `json:"access_token_format"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

func describeClient(c *ports.Client) adminClient {
	return adminClient{
		ID: c.ID, Name: c.Name, GrantTypes: nonNil(c.GrantTypes), ResponseTypes: nonNil(c.ResponseTypes),
		RedirectURIs: nonNil(c.RedirectURIs), Scope: c.Scope, TokenEndpointAuth: c.TokenEndpointAuth,
		ApplicationType: c.ApplicationType, AccessTokenFormat: c.AccessTokenFormat,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// nonNil makes an absent list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (h *handlers) adminListClients(w http.ResponseWriter, r *http.Request) {
	page, problem, ok := listPage(r.URL.Query())
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", problem)
		return
	}
	clients, err := h.p.Clients(r.Context(), oneMore(page))
	if err != nil {
		h.oauthError(w, r, err)
		return
	}
	clients, next := cut(clients, page, func(c *ports.Client) string { return c.ID })
	out := make([]adminClient, 0, len(clients))
	for _, c := range clients {
		out = append(out, describeClient(c))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, listAnswer("clients", out, next))
}

// listAnswer is the body of an admin API list: the entries under name,
// and next, the after parameter of the next page, unless this is the last.
func listAnswer[T any](name string, entries []T, next string) map[string]any {
	body := map[string]any{name: entries}
	if next != "" {
		body["next"] = next
	}
	return body
}

func (h *handlers) adminGetClient(w http.ResponseWriter, r *http.Request) {
	c, err := h.p.Client(r.Context(), chi.URLParam(r, "client_id"))
	if err != nil {
		h.adminError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, describeClient(c))
}

// adminDeleteClient deletes a client as its own RFC 7592 delete would:
// its credentials end and every token issued to it is revoked.
func (h *handlers) adminDeleteClient(w http.ResponseWriter, r *http.Request) {
	if err := h.deleteClient(r, chi.URLParam(r, "client_id")); err != nil {
		h.adminError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminError answers a refused admin API request. What the operator asked
// wrongly (an unknown client or user, a taken username, bad input) is told
// in the answer alone; the server's own failures are logged as oauthError
// logs them.
func (h *handlers) adminError(w http.ResponseWriter, r *http.Request, err error) {
	if e := core.AsError(err); e.Status < http.StatusInternalServerError {
		writeJSONError(w, e.Status, e.Code, e.Description)
		return
	}
	h.oauthError(w, r, err)
}

// rotateKeys starts a key rotation for the operator, from the API or the
// UI, and logs it.
func (h *handlers) rotateKeys(r *http.Request) ([]*keyset.Key, error) {
	created, err := h.p.RotateKeys(r.Context())
	if err == nil {
		h.log.InfoContext(r.Context(), "signing keys rotated", "request_id", RequestIDFrom(r.Context()), "keys", len(created))
	}
	return created, err
}

// deleteClient deletes a client for the operator, from the API or the UI,
// and logs it.
func (h *handlers) deleteClient(r *http.Request, id string) error {
	err := h.p.DeleteClient(r.Context(), id)
	if err == nil {
		h.log.InfoContext(r.Context(), "client deleted by the operator", "request_id", RequestIDFrom(r.Context()), "client_id", id)
	}
	return err
}
