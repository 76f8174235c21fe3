// Package oautherr writes OAuth 2.0 error responses (RFC 6749 §5.2): a JSON
// body of error and error_description with the headers every such answer
// carries. It is the server's one writer of them: httpapi answers protocol
// errors with Write, and the edge middlewares of ratelimit and resilience,
// which answer before any handler runs and import neither httpapi nor core,
// take a Writer whose default is Write. It imports the standard library
// only, so every module may use it.
package oautherr

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// TemporarilyUnavailable is the code RFC 6749 §4.1.2.1 defines for a server
// that cannot handle the request now and asks the client to retry later.
const TemporarilyUnavailable = "temporarily_unavailable"

// Response is one error response.
type Response struct {
	// Status is the HTTP status.
	Status int
	// Code is the error code, the body's "error".
	Code string
	// Description is the body's "error_description", left out when empty.
	Description string
	// RetryAfter, when positive, goes out as Retry-After in whole seconds
	// (see Seconds).
	RetryAfter time.Duration
}

// Writer writes an error response. Middlewares take one so that a server
// answers every refusal the same way; Write is the default.
type Writer func(http.ResponseWriter, Response)

type body struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Write writes res with Content-Type application/json, Cache-Control
// no-store and Pragma no-cache (RFC 6749 §5.1, §5.2), Retry-After when
// res has one, and a Content-Length: the body goes out whole in one write.
// Headers the caller set before, such as a WWW-Authenticate challenge,
// go out with it.
func Write(w http.ResponseWriter, res Response) {
	h := w.Header()
	if res.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(Seconds(res.RetryAfter)))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	b, err := json.Marshal(body{Error: res.Code, Description: res.Description})
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(res.Status)
	_, _ = w.Write(b)
}

// Seconds rounds d up to whole seconds, at least one: Retry-After has
// one-second resolution, a client told to wait 0 seconds when 300ms remain
// would be refused again, and zero would invite an immediate retry.
func Seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
