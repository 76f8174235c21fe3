package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"sort"

	"oauth2-server.dev/core"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

// authorize serves the authorization endpoint (RFC 6749 §3.1, OIDC Core
// §3.1.2), by GET or by form POST.
func (h *handlers) authorize(w http.ResponseWriter, r *http.Request) {
	params, sess, ok := h.browserRequest(w, r)
	if !ok {
		return
	}
	res, err := h.p.StartAuthorization(r.Context(), params, sess)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	h.continueAuthorization(w, r, res)
}

// browserRequest reads the parameters of a page a browser opens by GET or
// submits by form POST, and the browser's session. It shows errors itself;
// ok is false then.
func (h *handlers) browserRequest(w http.ResponseWriter, r *http.Request) (url.Values, *ports.Session, bool) {
	// URL.Query would drop a malformed pair and keep the rest: of a
	// parameter given twice, one malformed, the other would pass as given
	// once.
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil && r.Method != http.MethodPost {
		h.authorizeErrorPage(w, r, core.ErrInvalidRequest.WithDescription("the query string is not valid"))
		return nil, nil, false
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			h.authorizeErrorPage(w, r, formError(err))
			return nil, nil, false
		}
		params = r.PostForm
	}
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return nil, nil, false
	}
	return params, sess, true
}

// continueAuthorization sends the browser where the result says: back to
// the client, or to the sign-in or consent page.
func (h *handlers) continueAuthorization(w http.ResponseWriter, r *http.Request, res *core.AuthorizeResult) {
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	switch res.Interaction {
	case core.InteractionLogin:
		http.Redirect(w, r, "/login?request_id="+url.QueryEscape(res.RequestID), status)
	case core.InteractionConsent:
		http.Redirect(w, r, "/consent?request_id="+url.QueryEscape(res.RequestID), status)
	default:
		h.metrics.countFrontChannel(res.Issued)
		if res.FormPost != nil {
			h.formPost(w, r, res.FormPost)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, res.RedirectURL, status) // #nosec G710 -- built on a redirect URI that core.parseAuthorize matched against the client's registered ones (redirectURIMatches)
	}
}

type formPostData struct {
	Title, Action, Nonce string
	Params               []hiddenParam
}

// formPost answers with a page that posts the response to the client
// (OAuth 2.0 Form Post Response Mode §2). The one inline script runs under
// a per-response nonce.
func (h *handlers) formPost(w http.ResponseWriter, r *http.Request, fp *core.FormPost) {
	data := formPostData{Title: "Returning to the application", Action: fp.Action, Nonce: secret.Random(16)}
	names := make([]string, 0, len(fp.Params))
	for k := range fp.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		data.Params = append(data.Params, hiddenParam{Name: k, Value: fp.Params.Get(k)})
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'nonce-"+data.Nonce+"'; frame-ancestors 'none'; base-uri 'none'")
	h.render(w, r, http.StatusOK, "formpost", data)
}

// authorizeErrorPage shows an error that must not be redirected to the
// client (RFC 6749 §4.1.2.1: unknown client or unregistered redirect URI).
func (h *handlers) authorizeErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	e := h.logged(r, err)
	status := e.Status
	if status == http.StatusUnauthorized {
		status = http.StatusBadRequest
	}
	desc := e.Description
	if desc == "" {
		desc = "The request could not be completed."
	}
	h.errorPage(w, r, status, "This sign-in request cannot continue", desc, e.Code)
}

// session returns the browser's live session, or nil.
func (h *handlers) session(r *http.Request) (*ports.Session, error) {
	id, ok := h.cookies.get(r, sessionCookie)
	if !ok {
		return nil, nil
	}
	s, err := h.p.Session(r.Context(), id)
	if err != nil {
		return nil, core.ErrServerError.Wrap(err)
	}
	return s, nil
}

type loginPageData struct {
	Title, ClientName, RequestID, CSRF, Username, Error, Next string
}

// localNext accepts the pages a sign-in may return to that are not an
// authorization request: only the device and CIBA decision pages and the
// account page, with their query, never another host or another path
// ("/account/../consent" included).
func localNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.RawPath != "" {
		return ""
	}
	switch u.Path {
	case "/device", "/ciba", accountURL:
	default:
		return ""
	}
	if u.RawQuery == "" {
		return u.Path
	}
	return u.Path + "?" + u.RawQuery
}

func (h *handlers) loginPage(w http.ResponseWriter, r *http.Request) {
	data := loginPageData{Title: "Sign in", RequestID: r.URL.Query().Get("request_id"), Next: localNext(r.URL.Query().Get("next"))}
	if data.RequestID != "" {
		req, _, err := h.p.PendingRequest(r.Context(), data.RequestID)
		if err != nil {
			h.authorizeErrorPage(w, r, err)
			return
		}
		data.ClientName = clientName(req.Client)
		data.Username = req.LoginHint
	}
	data.CSRF = h.cookies.csrfToken(w, r)
	h.render(w, r, http.StatusOK, "login", data)
}

func (h *handlers) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.authorizeErrorPage(w, r, formError(err))
		return
	}
	if !h.cookies.checkCSRF(r) {
		h.errorPage(w, r, http.StatusForbidden, "Form expired", "The sign-in form expired or was not sent from this site. Go back to the application and start again.", "")
		return
	}
	requestID := r.PostForm.Get("request_id")
	var req *core.AuthorizeRequest
	if requestID != "" {
		var err error
		if req, _, err = h.p.PendingRequest(r.Context(), requestID); err != nil {
			h.authorizeErrorPage(w, r, err)
			return
		}
	}
	username := r.PostForm.Get("username")
	retryForm := func(status int, message string) {
		data := loginPageData{
			Title: "Sign in", RequestID: requestID, Username: username,
			Error: message, CSRF: h.cookies.csrfToken(w, r), Next: localNext(r.PostForm.Get("next")),
		}
		if req != nil {
			data.ClientName = clientName(req.Client)
		}
		h.render(w, r, status, "login", data)
	}
	keys := failureKeys(r, userAccount(username))
	if blocked, retry := h.blocked(r, keys); blocked {
		setRetryAfter(w, retry)
		retryForm(http.StatusTooManyRequests, "Too many failed sign-ins. Wait a minute and try again.")
		return
	}
	user, err := h.p.CheckPassword(r.Context(), username, r.PostForm.Get("password"))
	if errors.Is(err, core.ErrBadCredentials) {
		h.metrics.authFailures.WithLabelValues("user").Inc()
		h.recordFailure(r, keys)
		retryForm(http.StatusOK, "Wrong username or password.")
		return
	}
	if err != nil {
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	previous, _ := h.cookies.get(r, sessionCookie)
	sess, err := h.p.StartSession(r.Context(), user.ID, previous)
	if err != nil {
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	h.cookies.set(w, sessionCookie, sess.ID, 0)
	if next := localNext(r.PostForm.Get("next")); requestID == "" && next != "" {
		http.Redirect(w, r, next, http.StatusSeeOther) // #nosec G710 -- localNext lets through only paths on this server
		return
	}
	if requestID == "" {
		h.errorPage(w, r, http.StatusOK, "Signed in", "You are signed in as "+user.Username+". Return to the application you came from.", "")
		return
	}
	res, err := h.p.ResumeAuthorization(r.Context(), requestID, sess)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	h.continueAuthorization(w, r, res)
}

type consentScope struct{ Name, Description string }

type consentPageData struct {
	Title, ClientName, RequestID, CSRF, Username string
	Scopes                                       []consentScope
	// Details are the request's authorization details (RFC 9396).
	Details []consentDetail
}

func (h *handlers) consentPage(w http.ResponseWriter, r *http.Request) {
	requestID := r.URL.Query().Get("request_id")
	req, _, err := h.p.PendingRequest(r.Context(), requestID)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if sess == nil {
		http.Redirect(w, r, "/login?request_id="+url.QueryEscape(requestID), http.StatusFound)
		return
	}
	user, err := h.p.User(r.Context(), sess.UserID)
	if err != nil {
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	data := consentPageData{
		Title: "Allow access", ClientName: clientName(req.Client), RequestID: requestID,
		CSRF: h.cookies.csrfToken(w, r), Username: user.Username,
	}
	data.Scopes = describeScopes(req.Scopes)
	data.Details = describeDetails(req.AuthorizationDetails)
	h.render(w, r, http.StatusOK, "consent", data)
}

// describeScopes lists scopes with what they let a client do, for the
// consent and device pages.
func describeScopes(scopes []string) []consentScope {
	out := make([]consentScope, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, consentScope{Name: s, Description: core.ScopeDescription(s)})
	}
	return out
}

// postedDecision reads a decision form posted from one of the server's own
// pages: the form, its CSRF token, and the browser's session (nil when
// signed out). It shows errors itself; ok is false then.
func (h *handlers) postedDecision(w http.ResponseWriter, r *http.Request, expired string) (*ports.Session, bool) {
	if err := r.ParseForm(); err != nil {
		h.authorizeErrorPage(w, r, formError(err))
		return nil, false
	}
	if !h.cookies.checkCSRF(r) {
		h.errorPage(w, r, http.StatusForbidden, "Form expired", expired, "")
		return nil, false
	}
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return nil, false
	}
	return sess, true
}

// postedChoice reads which button of a decision form was pressed: true for
// yes, false for "deny". Anything else is answered with an error page that
// says help; ok is false then.
func (h *handlers) postedChoice(w http.ResponseWriter, r *http.Request, yes, help string) (choice, ok bool) {
	switch r.PostForm.Get("decision") {
	case yes:
		return true, true
	case "deny":
		return false, true
	}
	h.errorPage(w, r, http.StatusBadRequest, "No decision", help, "invalid_request")
	return false, false
}

func (h *handlers) consent(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postedDecision(w, r, "The consent form expired or was not sent from this site. Go back to the application and start again.")
	if !ok {
		return
	}
	requestID := r.PostForm.Get("request_id")
	if sess == nil {
		http.Redirect(w, r, "/login?request_id="+url.QueryEscape(requestID), http.StatusSeeOther)
		return
	}
	allow, ok := h.postedChoice(w, r, "allow", "Choose Allow or Deny.")
	if !ok {
		return
	}
	res, err := h.p.ConsentDecision(r.Context(), requestID, sess, allow)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	h.continueAuthorization(w, r, res)
}

func clientName(c *ports.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}
