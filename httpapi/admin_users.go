package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// adminUser describes a user to operators; never the password hash.
type adminUser struct {
	ID            string    `json:"id"`
	Username      string    `json:"username"`
	Name          string    `json:"name,omitempty"`
	GivenName     string    `json:"given_name,omitempty"`
	FamilyName    string    `json:"family_name,omitempty"`
	Email         string    `json:"email,omitempty"`
	EmailVerified bool      `json:"email_verified"`
	CreatedAt     time.Time `json:"created_at"`
}

func describeUser(u *ports.User) adminUser {
	return adminUser{ID: u.ID, Username: u.Username, Name: u.Name, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Email: u.Email, EmailVerified: u.EmailVerified, CreatedAt: u.CreatedAt}
}

// userProblem is the status of a page about a refused user change, and
// what a person is told about it: the refusal core gives for bad input, a
// taken username or an unknown user; for a failure of the server, that the
// store did not answer.
func userProblem(err error) (int, string) {
	if e := core.AsError(err); e.Status < http.StatusInternalServerError {
		return e.Status, e.Description
	}
	return http.StatusServiceUnavailable, "the store did not answer; try again in a moment"
}

func (h *handlers) adminListUsers(w http.ResponseWriter, r *http.Request) {
	page, problem, ok := listPage(r.URL.Query())
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", problem)
		return
	}
	users, err := h.p.Users(r.Context(), oneMore(page))
	if err != nil {
		h.adminError(w, r, err)
		return
	}
	users, next := cut(users, page, func(u *ports.User) string { return u.Username })
	out := make([]adminUser, 0, len(users))
	for _, u := range users {
		out = append(out, describeUser(u))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, listAnswer("users", out, next))
}

type newUserRequest struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Name          string `json:"name"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

func (h *handlers) adminCreateUser(w http.ResponseWriter, r *http.Request) {
	body, ok := h.jsonBody(w, r, "invalid_request")
	if !ok {
		return
	}
	var req newUserRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "the body must be a JSON object of username, password and optional name, given_name, family_name, email, email_verified")
		return
	}
	u, err := h.addUser(r, core.NewUser{Username: req.Username, Password: req.Password, Name: req.Name,
		GivenName: req.GivenName, FamilyName: req.FamilyName, Email: req.Email, EmailVerified: req.EmailVerified})
	if err != nil {
		h.adminError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, describeUser(u))
}

func (h *handlers) adminSetPassword(w http.ResponseWriter, r *http.Request) {
	body, ok := h.jsonBody(w, r, "invalid_request")
	if !ok {
		return
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", `the body must be {"password": "..."}`)
		return
	}
	if err := h.setPassword(r, chi.URLParam(r, "user_id"), req.Password); err != nil {
		h.adminError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handlers) adminDeleteUser(w http.ResponseWriter, r *http.Request) {
	if err := h.deleteUser(r, chi.URLParam(r, "user_id")); err != nil {
		h.adminError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteUser deletes a user for the operator and logs it.
func (h *handlers) deleteUser(r *http.Request, userID string) error {
	err := h.p.DeleteUser(r.Context(), userID)
	if err == nil {
		h.log.InfoContext(r.Context(), "user deleted by the operator", "request_id", RequestIDFrom(r.Context()), "user_id", userID)
	}
	return err
}

// addUser adds a user for the operator, from the API or the UI, and logs
// it.
func (h *handlers) addUser(r *http.Request, n core.NewUser) (*ports.User, error) {
	u, err := h.p.AddUser(r.Context(), n)
	if err == nil {
		h.log.InfoContext(r.Context(), "user added by the operator", "request_id", RequestIDFrom(r.Context()), "user_id", u.ID)
	}
	return u, err
}

// setPassword sets a user's password for the operator and logs it.
func (h *handlers) setPassword(r *http.Request, userID, password string) error {
	err := h.p.SetPassword(r.Context(), userID, password)
	if err == nil {
		h.log.InfoContext(r.Context(), "user password set by the operator", "request_id", RequestIDFrom(r.Context()), "user_id", userID)
	}
	return err
}
