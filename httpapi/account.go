package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// The account page at /account: a signed-in person sees the applications
// they consented to, with the scopes and when, and can withdraw a consent,
// which also revokes every token the application holds for them.

const accountURL = "/account"

type accountPageData struct {
	Title, Username, CSRF, Notice string
	Apps                          []accountApp
}

type accountApp struct {
	ClientID, Name, Granted string
	Scopes                  []string
}

func (h *handlers) accountPage(w http.ResponseWriter, r *http.Request) {
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if sess == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(accountURL), http.StatusFound)
		return
	}
	user, err := h.p.User(r.Context(), sess.UserID)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	consents, err := h.p.UserConsents(r.Context(), sess.UserID)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	data := accountPageData{Title: "Your account", Username: user.Username, CSRF: h.cookies.csrfToken(w, r)}
	if r.URL.Query().Get("done") == "revoked" {
		data.Notice = "Access withdrawn. The application must ask again before it can act for you."
	}
	for _, c := range consents {
		app := accountApp{ClientID: c.Consent.ClientID, Name: c.Consent.ClientID, Granted: c.Consent.GrantedAt.UTC().Format(pageTime), Scopes: strings.Fields(c.Consent.Scope)}
		if c.Client != nil {
			app.Name = clientName(c.Client)
		}
		data.Apps = append(data.Apps, app)
	}
	h.render(w, r, http.StatusOK, "account", data)
}

func (h *handlers) accountRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.authorizeErrorPage(w, r, formError(err))
		return
	}
	if !h.cookies.checkCSRF(r) {
		h.errorPage(w, r, http.StatusForbidden, "Form expired", "The form expired or was not sent from this site. Open "+accountURL+" and try again.", "")
		return
	}
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if sess == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(accountURL), http.StatusSeeOther)
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
