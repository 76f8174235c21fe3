package httpapi

import (
	"net/http"
	"net/url"

	"oauth2-server.dev/core"
)

// deviceAuthorization serves the device authorization endpoint (RFC 8628
// §3.1).
func (h *handlers) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	h.serveClient(w, r, withoutDPoP, func(c clientCall) error {
		resp, err := h.p.AuthorizeDevice(r.Context(), c.cred, c.form)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, resp)
		return nil
	})
}

type devicePageData struct {
	Title, Client, Code, Username, CSRF, Error, Done, Message string
	Scopes                                                    []consentScope
}

// devicePage is where a person types the code their device shows (RFC 8628
// §3.3), signs in, and approves or denies.
func (h *handlers) devicePage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	sess, err := h.session(r)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if sess == nil {
		next := "/device"
		if code != "" {
			next += "?user_code=" + url.QueryEscape(code)
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusFound)
		return
	}
	data := devicePageData{Title: "Connect a device", Code: code, CSRF: h.cookies.csrfToken(w, r)}
	if code == "" {
		h.render(w, r, http.StatusOK, "device", data)
		return
	}
	// RFC 8628 §5.1: wrong codes are throttled per session and address,
	// so nobody can walk the code space.
	keys := failureKeys(r, "device-session:"+sess.ID)
	if blocked, _ := h.blocked(r, keys); blocked {
		data.Error = "Too many wrong codes. Wait a minute and try again."
		h.render(w, r, http.StatusTooManyRequests, "device", data)
		return
	}
	pending, ok, err := h.p.LookupDevice(r.Context(), code)
	if err != nil {
		h.authorizeErrorPage(w, r, err)
		return
	}
	if !ok {
		h.recordFailure(r, keys)
		data.Error = "That code is not valid or has expired. Check your device and try again."
		h.render(w, r, http.StatusOK, "device", data)
		return
	}
	user, err := h.p.User(r.Context(), sess.UserID)
	if err != nil {
		h.authorizeErrorPage(w, r, core.ErrServerError.Wrap(err))
		return
	}
	data.Client, data.Code, data.Username = clientName(pending.Client), pending.Code, user.Username
	data.Scopes = describeScopes(pending.Scopes)
	h.render(w, r, http.StatusOK, "device", data)
}

// deviceDecision records the person's approval or denial.
func (h *handlers) deviceDecision(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.postedDecision(w, r, "The form expired or was not sent from this site. Enter the code again.")
	if !ok {
		return
	}
	if sess == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/device"), http.StatusSeeOther)
		return
	}
	approve := r.PostForm.Get("decision") == "approve"
	if err := h.p.DecideDevice(r.Context(), r.PostForm.Get("user_code"), sess, approve); err != nil {
		h.render(w, r, http.StatusBadRequest, "device", devicePageData{Title: "Connect a device", CSRF: h.cookies.csrfToken(w, r),
			Error: "That code is not valid, has expired or was already used."})
		return
	}
	data := devicePageData{Title: "Device connected", Done: "Device connected", Message: "You can return to your device; it will continue on its own."}
	if !approve {
		data = devicePageData{Title: "Request denied", Done: "Request denied", Message: "The device was not given access."}
	}
	h.render(w, r, http.StatusOK, "device", data)
}
