package httpapi

import (
	"errors"
	"net/http"
	"net/url"

	"oauth2-server.dev/core"
)

// backchannelAuthorize serves the backchannel authentication endpoint
// (OpenID Connect CIBA §7).
func (h *handlers) backchannelAuthorize(w http.ResponseWriter, r *http.Request) {
	h.serveClient(w, r, withoutDPoP, func(c clientCall) error {
		resp, err := h.p.AuthenticateBackchannel(r.Context(), c.cred, c.form)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, resp)
		return nil
	})
}

// What the decision page says when it cannot offer a request.
const (
	cibaGone         = "This sign-in request is unknown, has expired or was already answered."
	cibaOtherAccount = "This sign-in request is for another account. Sign in as that account to answer it."
)

type cibaPageData struct {
	Title, Client, BindingMessage, Username, CSRF, DecisionID string
	Error, SwitchAccount, Done, Message                       string
	Scopes                                                    []consentScope
}

// cibaSignIn is the sign-in page that returns to the decision page of id.
func cibaSignIn(id string) string {
	return "/login?next=" + url.QueryEscape("/ciba?id="+url.QueryEscape(id))
}

// cibaPage is where the person a backchannel authentication request names
// sees it, signed in, and approves or denies it (CIBA §8). The notice to
// their authentication device links here.
func (h *handlers) cibaPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if sess == nil {
		http.Redirect(w, r, cibaSignIn(id), http.StatusFound) // #nosec G710 -- always this server's /login; id is query-escaped
		return
	}
	data := cibaPageData{Title: "Approve sign-in"}
	pending, ok, err := h.p.LookupCIBA(r.Context(), id)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if !ok {
		data.Error = cibaGone
		h.render(w, r, http.StatusNotFound, "ciba", data)
		return
	}
	if pending.UserID != sess.UserID {
		// The request names someone else: say so, and show nothing of it.
		data.Error, data.SwitchAccount = cibaOtherAccount, cibaSignIn(id)
		h.render(w, r, http.StatusForbidden, "ciba", data)
		return
	}
	user, err := h.p.User(r.Context(), sess.UserID)
	if err != nil {
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	data.Client, data.BindingMessage, data.Username = clientName(pending.Client), pending.BindingMessage, user.Username
	data.Scopes, data.DecisionID, data.CSRF = describeScopes(pending.Scopes), id, h.cookies.csrfToken(w, r)
	h.render(w, r, http.StatusOK, "ciba", data)
}

// cibaDecision records the person's approval or denial.
func (h *handlers) cibaDecision(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postedDecision(w, r, "The form expired or was not sent from this site. Open the request again from your device.")
	if !ok {
		return
	}
	id := r.PostForm.Get("id")
	if sess == nil {
		http.Redirect(w, r, cibaSignIn(id), http.StatusSeeOther) // #nosec G710 -- always this server's /login; id is query-escaped
		return
	}
	approve, ok := h.postedChoice(w, r, "approve", "Choose Approve or Deny.")
	if !ok {
		return
	}
	data := cibaPageData{Title: "Approve sign-in"}
	err := h.p.DecideCIBA(r.Context(), id, sess, approve)
	switch {
	case errors.Is(err, core.ErrAccessDenied):
		data.Error, data.SwitchAccount = cibaOtherAccount, cibaSignIn(id)
		h.render(w, r, http.StatusForbidden, "ciba", data)
		return
	case errors.Is(err, core.ErrInvalidRequest):
		data.Error = cibaGone
		h.render(w, r, http.StatusBadRequest, "ciba", data)
		return
	case err != nil:
		h.authorizeErrorPage(w, r, err)
		return
	}
	data = cibaPageData{Title: "Sign-in approved", Done: "Sign-in approved", Message: "You can return to the other device; it will continue on its own."}
	if !approve {
		data = cibaPageData{Title: "Sign-in denied", Done: "Sign-in denied", Message: "The other device was not signed in."}
	}
	h.render(w, r, http.StatusOK, "ciba", data)
}
