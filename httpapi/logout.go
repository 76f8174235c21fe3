package httpapi

import (
	"net/http"
	"net/url"
	"sort"

	"oauth2-server.dev/core"
)

type hiddenParam struct{ Name, Value string }

type logoutPageData struct {
	Title, ClientName, Username, CSRF string
	Params                            []hiddenParam
}

type loggedOutPageData struct {
	Title    string
	Redirect string
	Frames   []core.FrontchannelLogout
}

// logout serves RP-initiated logout (OIDC RP-Initiated Logout §2) by GET
// or POST. Without proof that the request comes from the user's own relying
// party, the user confirms on a page first.
func (h *handlers) logout(w http.ResponseWriter, r *http.Request) {
	params, sess, ok := h.browserRequest(w, r)
	if !ok {
		return
	}
	confirmed := r.Method == http.MethodPost && params.Get("confirm") == "yes"
	if confirmed && !h.cookies.checkCSRF(r) {
		h.errorPage(w, r, http.StatusForbidden, "Form expired", "The sign-out form expired or was not sent from this site.", "")
		return
	}
	rp := url.Values{}
	for _, k := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id"} {
		if v, ok := params[k]; ok {
			rp[k] = v
		}
	}
	req, err := h.p.ParseLogout(r.Context(), rp, sess)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if !req.Confirmed && !confirmed {
		h.logoutConfirmPage(w, r, req, sess.UserID, rp)
		return
	}
	frames, err := h.p.Logout(r.Context(), sess)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	h.cookies.clear(w, sessionCookie)
	redirect := req.Redirect()
	if len(frames) == 0 && redirect != "" {
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, redirect, status) // #nosec G710 -- core.ParseLogout matched post_logout_redirect_uri exactly against the client's registered URIs
		return
	}
	if len(frames) > 0 {
		// The relying parties' logout pages load in iframes (OIDC
		// Front-Channel Logout §3).
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-src http: https:; frame-ancestors 'none'; base-uri 'none'")
	}
	h.render(w, r, http.StatusOK, "loggedout", loggedOutPageData{Title: "Signed out", Redirect: redirect, Frames: frames})
}

func (h *handlers) logoutConfirmPage(w http.ResponseWriter, r *http.Request, req *core.LogoutRequest, userID string, params url.Values) {
	data := logoutPageData{Title: "Sign out", CSRF: h.cookies.csrfToken(w, r)}
	if req.Client != nil {
		data.ClientName = clientName(req.Client)
	}
	if u, err := h.p.User(r.Context(), userID); err == nil {
		data.Username = u.Username
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		data.Params = append(data.Params, hiddenParam{Name: k, Value: params.Get(k)})
	}
	h.render(w, r, http.StatusOK, "logout", data)
}
