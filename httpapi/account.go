package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// The account page at /account: a signed-in person sees the applications
// they consented to, with the scopes and when, and can withdraw a consent,
// which also revokes every token the application holds for them, and can
// change their password.

const accountURL = "/account"

type accountPageData struct {
	Title, Username, CSRF, Notice, Problem string
	MinPassword                            int
	Apps                                   []accountApp
}

type accountApp struct {
	ClientID, Name, Granted string
	Scopes                  []string
}

func (h *handlers) accountPage(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.accountSession(w, r)
	if !ok {
		return
	}
	h.renderAccount(w, r, sess, http.StatusOK, accountNotices[r.URL.Query().Get("done")], "")
}

// accountNotices are what the page says after an action; the query names
// one, so nothing a link carries is shown as text.
var accountNotices = map[string]string{
	"revoked":   "Access withdrawn. The application must ask again before it can act for you.",
	"password":  "Your password is changed. You are signed out everywhere else.",
	"signedout": "You are signed out everywhere else.",
}

// accountSession returns the browser's session, or answers the request
// itself: a sign-in that returns here, or an error page.
func (h *handlers) accountSession(w http.ResponseWriter, r *http.Request) (*ports.Session, bool) {
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return nil, false
	}
	if sess == nil {
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(accountURL), status)
		return nil, false
	}
	return sess, true
}

func (h *handlers) renderAccount(w http.ResponseWriter, r *http.Request, sess *ports.Session, status int, notice, problem string) {
	user, err := h.p.User(r.Context(), sess.UserID)
	if err != nil {
		// A signed-in person whose user is gone is the server's failure.
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	consents, err := h.p.UserConsents(r.Context(), sess.UserID)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	data := accountPageData{Title: "Your account", Username: user.Username, CSRF: h.cookies.csrfToken(w, r),
		Notice: notice, Problem: problem, MinPassword: core.MinPasswordLength}
	for _, c := range consents {
		app := accountApp{ClientID: c.Consent.ClientID, Name: c.Consent.ClientID, Granted: c.Consent.GrantedAt.UTC().Format(pageTime), Scopes: strings.Fields(c.Consent.Scope)}
		if c.Client != nil {
			app.Name = clientName(c.Client)
		}
		data.Apps = append(data.Apps, app)
	}
	h.render(w, r, status, "account", data)
}

// accountForm parses a posted account form and checks its CSRF token and
// the session, answering the request itself when one fails.
func (h *handlers) accountForm(w http.ResponseWriter, r *http.Request) (*ports.Session, bool) {
	if !h.postedForm(w, r, accountURL) {
		return nil, false
	}
	return h.accountSession(w, r)
}

func (h *handlers) accountPassword(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	user, err := h.p.User(r.Context(), sess.UserID)
	if err != nil {
		// A signed-in person whose user is gone is the server's failure.
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	keys := failureKeys(r, userAccount(user.Username))
	if blocked, retry := h.blocked(r, keys); blocked {
		setRetryAfter(w, retry)
		h.renderAccount(w, r, sess, http.StatusTooManyRequests, "", "Too many wrong passwords. Wait a minute and try again.")
		return
	}
	err = h.p.ChangePassword(r.Context(), sess.UserID, sess.ID, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
	var invalid *core.InvalidUserError
	switch {
	case errors.Is(err, core.ErrBadCredentials):
		h.metrics.authFailures.WithLabelValues("user").Inc()
		h.recordFailure(r, keys)
		h.renderAccount(w, r, sess, http.StatusOK, "", "Your current password is not right; the password is unchanged.")
		return
	case errors.As(err, &invalid):
		h.renderAccount(w, r, sess, http.StatusBadRequest, "", "The password is unchanged: "+invalid.Problem+".")
		return
	case err != nil:
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	h.log.InfoContext(r.Context(), "password changed by its user", "request_id", RequestIDFrom(r.Context()), "user_id", sess.UserID)
	http.Redirect(w, r, accountURL+"?done=password", http.StatusSeeOther)
}

func (h *handlers) accountRevoke(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	clientID := chi.URLParam(r, "client_id")
	if err := h.p.RevokeConsent(r.Context(), sess.UserID, clientID); err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "consent revoked", "request_id", RequestIDFrom(r.Context()), "client_id", clientID)
	http.Redirect(w, r, accountURL+"?done=revoked", http.StatusSeeOther)
}

func (h *handlers) accountEndOtherSessions(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.accountForm(w, r)
	if !ok {
		return
	}
	if err := h.p.EndOtherSessions(r.Context(), sess); err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "signed out elsewhere by the user", "request_id", RequestIDFrom(r.Context()), "user_id", sess.UserID)
	http.Redirect(w, r, accountURL+"?done=signedout", http.StatusSeeOther)
}
