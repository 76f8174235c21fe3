package httpapi

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// The admin UI at /admin: the operator signs in with the admin token and
// gets a page of the registered clients and the signing keys, from which
// a client can be deleted and the keys rotated. It is on exactly when the
// admin API is. A sign-in lasts adminSessionTTL, and every form posts a
// CSRF token.

const (
	adminURL        = "/admin"
	adminCookie     = "oauth2_admin"
	adminSessionTTL = time.Hour
)

// adminUIEnabled answers the admin UI's pages with 404 while no admin
// token is configured.
func (h *handlers) adminUIEnabled(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.adminToken == "" {
			h.errorPage(w, r, http.StatusNotFound, "Administration is off", "Set OAUTH2_ADMIN_TOKEN to turn on the admin UI and the admin API.", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminTokenMark ties a sign-in to the admin token: a changed token ends
// every sign-in made with the old one. It is keyed with the cookie key, so
// a stolen cookie allows no guessing of the token offline.
func (h *handlers) adminTokenMark() string {
	return h.cookies.sign("admin-token", h.adminToken)
}

// adminSignedIn reports whether the request carries a live admin sign-in:
// "<expiry, unix seconds>.<token mark>", signed.
func (h *handlers) adminSignedIn(r *http.Request) bool {
	v, ok := h.cookies.get(r, adminCookie)
	if !ok {
		return false
	}
	exp, mark, ok := strings.Cut(v, ".")
	n, err := strconv.ParseInt(exp, 10, 64)
	return ok && err == nil && time.Now().Unix() < n && subtle.ConstantTimeCompare([]byte(mark), []byte(h.adminTokenMark())) == 1
}

type adminLoginData struct {
	Title, CSRF, Error string
}

type adminPageData struct {
	Title, CSRF, Issuer, Notice, Problem string
	MinPassword                          int
	Clients                              []adminClientRow
	Users                                []adminUserRow
	Keys                                 []adminKeyRow
	// Paging: the links to the next and the first page of the clients
	// and of the users, "" where there is none.
	ClientsNext, ClientsFirst, UsersNext, UsersFirst string
}

type adminUserRow struct {
	ID, Username, Name, Email, Created string
}

type adminConfirmData struct {
	Title, Heading, Detail, Action, Button, CSRF string
}

type adminClientRow struct {
	ID, Name, Auth, Created string
	GrantTypes              []string
}

type adminKeyRow struct {
	ID, Algorithm, State, NotBefore, Retired string
}

// adminNotices are what the page says after an action; the query names
// one, so nothing a link carries is shown as text.
var adminNotices = map[string]string{
	"rotated":     "New signing keys are published; they sign after the propagation delay.",
	"deleted":     "The client is deleted and its tokens are revoked.",
	"useradded":   "The user is added and can sign in.",
	"password":    "The password is changed; the old one no longer works and the user's sessions ended.",
	"userdeleted": "The user is deleted; their sessions ended and their tokens are revoked.",
}

// pageTime is how pages show a moment.
const pageTime = "2006-01-02 15:04 MST"

func (h *handlers) adminPage(w http.ResponseWriter, r *http.Request) {
	if !h.adminSignedIn(r) {
		h.render(w, r, http.StatusOK, "admin_login", adminLoginData{Title: "Administration", CSRF: h.cookies.csrfToken(w, r)})
		return
	}
	h.renderAdmin(w, r, http.StatusOK, adminNotices[r.URL.Query().Get("done")], "")
}

// renderAdmin renders the dashboard with a notice or a problem to show.
func (h *handlers) renderAdmin(w http.ResponseWriter, r *http.Request, status int, notice, problem string) {
	q := r.URL.Query()
	clientPage := ports.Page{After: q.Get("clients_after"), Limit: adminPageRows}
	userPage := ports.Page{After: q.Get("users_after"), Limit: adminPageRows}
	clients, err := h.p.Clients(r.Context(), oneMore(clientPage))
	var users []*ports.User
	if err == nil {
		users, err = h.p.Users(r.Context(), oneMore(userPage))
	}
	if err != nil {
		h.logged(r, err)
		h.errorPage(w, r, http.StatusServiceUnavailable, "Administration unavailable", "The store did not answer. Try again in a moment.", "")
		return
	}
	clients, nextClient := cut(clients, clientPage, func(c *ports.Client) string { return c.ID })
	users, nextUser := cut(users, userPage, func(u *ports.User) string { return u.Username })
	data := adminPageData{Title: "Administration", CSRF: h.cookies.csrfToken(w, r), Issuer: h.p.Issuer(), Notice: notice, Problem: problem,
		MinPassword: core.MinPasswordLength}
	// Each list pages on its own; a link keeps the other list where it is.
	link := func(clientsAfter, usersAfter string) string {
		v := url.Values{}
		if clientsAfter != "" {
			v.Set("clients_after", clientsAfter)
		}
		if usersAfter != "" {
			v.Set("users_after", usersAfter)
		}
		if len(v) == 0 {
			return adminURL
		}
		return adminURL + "?" + v.Encode()
	}
	if nextClient != "" {
		data.ClientsNext = link(nextClient, userPage.After)
	}
	if clientPage.After != "" {
		data.ClientsFirst = link("", userPage.After)
	}
	if nextUser != "" {
		data.UsersNext = link(clientPage.After, nextUser)
	}
	if userPage.After != "" {
		data.UsersFirst = link(clientPage.After, "")
	}
	for _, c := range clients {
		data.Clients = append(data.Clients, adminClientRow{
			ID: c.ID, Name: clientName(c), Auth: c.TokenEndpointAuth, GrantTypes: c.GrantTypes,
			Created: c.CreatedAt.UTC().Format(pageTime),
		})
	}
	for _, u := range users {
		data.Users = append(data.Users, adminUserRow{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email, Created: u.CreatedAt.UTC().Format(pageTime)})
	}
	for _, k := range describeKeys(h.p.Keys().Keys(), time.Now()) {
		row := adminKeyRow{ID: k.ID, Algorithm: k.Algorithm, State: k.State, NotBefore: k.NotBefore.UTC().Format(pageTime)}
		if k.RetiredAt != nil {
			row.Retired = k.RetiredAt.UTC().Format(pageTime)
		}
		data.Keys = append(data.Keys, row)
	}
	h.render(w, r, status, "admin", data)
}

func (h *handlers) adminUIAddUser(w http.ResponseWriter, r *http.Request) {
	if !h.adminAction(w, r) {
		return
	}
	f := r.PostForm
	_, err := h.addUser(r, core.NewUser{Username: f.Get("username"), Password: f.Get("password"), Name: f.Get("name"), Email: f.Get("email")})
	h.adminUserDone(w, r, err, "The user was not added", "useradded")
}

// adminUserDone answers a user change the UI asked for: back to the
// dashboard with the notice done when err is nil, the dashboard with the
// problem, after failed, otherwise.
func (h *handlers) adminUserDone(w http.ResponseWriter, r *http.Request, err error, failed, done string) {
	if err != nil {
		status, problem := userProblem(err)
		h.renderAdmin(w, r, status, "", failed+": "+problem+".")
		return
	}
	http.Redirect(w, r, adminURL+"?done="+done, http.StatusSeeOther)
}

func (h *handlers) adminUISetPassword(w http.ResponseWriter, r *http.Request) {
	if !h.adminAction(w, r) {
		return
	}
	h.adminUserDone(w, r, h.setPassword(r, chi.URLParam(r, "user_id"), r.PostForm.Get("password")), "The password was not changed", "password")
}

func (h *handlers) adminLogin(w http.ResponseWriter, r *http.Request) {
	if !h.postedForm(w, r, adminURL) {
		return
	}
	retry := func(status int, message string) {
		h.render(w, r, status, "admin_login", adminLoginData{Title: "Administration", CSRF: h.cookies.csrfToken(w, r), Error: message})
	}
	// Wrong tokens count against the caller's address only: the admin
	// token is too long to guess, and a budget shared by every address
	// would let anybody lock the operator out.
	keys := failureKeys(r, "")
	if blocked, after := h.blocked(r, keys); blocked {
		setRetryAfter(w, after)
		retry(http.StatusTooManyRequests, "Too many failed sign-ins. Wait a minute and try again.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(h.adminToken)) != 1 {
		h.metrics.authFailures.WithLabelValues("admin").Inc()
		h.recordFailure(r, keys)
		h.log.WarnContext(r.Context(), "admin sign-in failed", "request_id", RequestIDFrom(r.Context()), "client_ip", ClientIPFrom(r.Context()).String())
		retry(http.StatusUnauthorized, "That is not the admin token.")
		return
	}
	exp := time.Now().Add(adminSessionTTL).Unix()
	h.cookies.set(w, adminCookie, strconv.FormatInt(exp, 10)+"."+h.adminTokenMark(), adminSessionTTL)
	h.log.InfoContext(r.Context(), "admin signed in", "request_id", RequestIDFrom(r.Context()), "client_ip", ClientIPFrom(r.Context()).String())
	http.Redirect(w, r, adminURL, http.StatusSeeOther)
}

func (h *handlers) adminLogout(w http.ResponseWriter, r *http.Request) {
	if !h.postedForm(w, r, adminURL) {
		return
	}
	h.cookies.clear(w, adminCookie)
	http.Redirect(w, r, adminURL, http.StatusSeeOther)
}

func (h *handlers) adminUIRotateKeys(w http.ResponseWriter, r *http.Request) {
	if !h.adminAction(w, r) {
		return
	}
	if _, err := h.rotateKeys(r); err != nil {
		h.logged(r, err)
		h.errorPage(w, r, http.StatusServiceUnavailable, "Rotation failed", "The signing keys were not rotated. Try again in a moment.", "")
		return
	}
	http.Redirect(w, r, adminURL+"?done=rotated", http.StatusSeeOther)
}

// confirmDelete asks whether to delete what name names: detail says what
// deleting it does, and the button posts the confirmation to action.
func (h *handlers) confirmDelete(w http.ResponseWriter, r *http.Request, name, detail, action, button string) {
	h.render(w, r, http.StatusOK, "admin_confirm", adminConfirmData{
		Title: "Delete " + name, Heading: "Delete " + name + "?", Detail: detail,
		Action: action, Button: button, CSRF: h.cookies.csrfToken(w, r),
	})
}

func (h *handlers) adminUIDeleteClient(w http.ResponseWriter, r *http.Request) {
	if !h.adminAction(w, r) {
		return
	}
	id := chi.URLParam(r, "client_id")
	if r.PostForm.Get("confirm") != "yes" {
		c, err := h.p.Client(r.Context(), id)
		if err == nil {
			h.confirmDelete(w, r, clientName(c),
				"Client "+c.ID+" will no longer authenticate, and every token issued to it is revoked at once.",
				adminURL+"/clients/"+url.PathEscape(c.ID)+"/delete", "Delete the client")
			return
		}
		h.adminDeleted(w, r, id, err)
		return
	}
	h.adminDeleted(w, r, id, h.deleteClient(r, id))
}

func (h *handlers) adminUIDeleteUser(w http.ResponseWriter, r *http.Request) {
	if !h.adminAction(w, r) {
		return
	}
	id := chi.URLParam(r, "user_id")
	if r.PostForm.Get("confirm") != "yes" {
		u, err := h.p.User(r.Context(), id)
		if err != nil {
			h.adminUserDone(w, r, err, "The user was not deleted", "")
			return
		}
		h.confirmDelete(w, r, u.Username,
			"The user will no longer sign in; their sessions end, their consents go, and every token issued for them is revoked at once.",
			adminURL+"/users/"+url.PathEscape(u.ID)+"/delete", "Delete the user")
		return
	}
	h.adminUserDone(w, r, h.deleteUser(r, id), "The user was not deleted", "userdeleted")
}

// adminDeleted answers a deletion the UI asked for: back to the dashboard
// when err is nil, an error page otherwise.
func (h *handlers) adminDeleted(w http.ResponseWriter, r *http.Request, id string, err error) {
	if err != nil && core.AsError(err).Status == http.StatusNotFound {
		h.errorPage(w, r, http.StatusNotFound, "No such client", "There is no client "+id+"; it may have been deleted already.", "")
		return
	}
	if err != nil {
		h.logged(r, err)
		h.errorPage(w, r, http.StatusServiceUnavailable, "Deletion failed", "The client was not deleted. Try again in a moment.", "")
		return
	}
	http.Redirect(w, r, adminURL+"?done=deleted", http.StatusSeeOther)
}

// postedForm parses a posted form of the page at page and checks its CSRF
// token, answering the request itself when either fails.
func (h *handlers) postedForm(w http.ResponseWriter, r *http.Request, page string) bool {
	if err := r.ParseForm(); err != nil {
		h.authorizeErrorPage(w, r, formError(err))
		return false
	}
	if !h.cookies.checkCSRF(r) {
		h.errorPage(w, r, http.StatusForbidden, "Form expired", "The form expired or was not sent from this site. Open "+page+" and try again.", "")
		return false
	}
	return true
}

// adminAction is postedForm for the forms of a signed-in operator.
func (h *handlers) adminAction(w http.ResponseWriter, r *http.Request) bool {
	if !h.postedForm(w, r, adminURL) {
		return false
	}
	if !h.adminSignedIn(r) {
		http.Redirect(w, r, adminURL, http.StatusSeeOther)
		return false
	}
	return true
}
