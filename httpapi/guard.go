package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports/oautherr"
)

// failureKeys names the budgets a failed authentication spends: the
// caller's address and the account it tried.
func failureKeys(r *http.Request, account string) []string {
	keys := []string{"ip:" + ClientIPFrom(r.Context()).String()}
	if account != "" {
		keys = append(keys, account)
	}
	return keys
}

// blocked reports whether the guard refuses keys now, and for how long.
// A guard that cannot answer lets the request through: the rate limits
// still apply, and an outage of the guard's backend must not lock
// everybody out.
func (h *handlers) blocked(r *http.Request, keys []string) (bool, time.Duration) {
	if h.guard == nil {
		return false, 0
	}
	blocked, retry, err := h.guard.Blocked(r.Context(), keys...)
	if err != nil {
		h.guardUnavailable(r, err)
		return false, 0
	}
	return blocked, retry
}

func (h *handlers) recordFailure(r *http.Request, keys []string) {
	if h.guard == nil {
		return
	}
	if err := h.guard.RecordFailure(r.Context(), keys...); err != nil {
		h.guardUnavailable(r, err)
	}
}

// guardUnavailable notes a guard that could not answer. Its backend (the
// rate limiter's store) reports its own outages once, as they begin and
// end; a warning per request would repeat that on every sign-in and
// token request while it lasts.
func (h *handlers) guardUnavailable(r *http.Request, err error) {
	h.log.DebugContext(r.Context(), "failure guard unavailable", "error", err)
}

// setRetryAfter sets Retry-After to retry in whole seconds, rounded up,
// at least one, and returns the figure.
func setRetryAfter(w http.ResponseWriter, retry time.Duration) string {
	secs := strconv.Itoa(oautherr.Seconds(retry))
	w.Header().Set("Retry-After", secs)
	return secs
}

// tooManyFailures answers a caller the guard refuses.
func tooManyFailures(w http.ResponseWriter, retry time.Duration) {
	secs := setRetryAfter(w, retry)
	writeJSONError(w, http.StatusTooManyRequests, core.ErrTemporarilyUnavailable.Code,
		"too many failed authentications; retry after "+secs+" seconds")
}

// clientAccount is the guard key of a client's credentials.
func clientAccount(cred core.ClientCredentials) string {
	if cred.ID == "" {
		return ""
	}
	return "client:" + cred.ID
}

// userAccount is the guard key of a username.
func userAccount(username string) string {
	u := strings.ToLower(strings.TrimSpace(username))
	if u == "" {
		return ""
	}
	return "user:" + u
}
