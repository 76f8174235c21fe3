package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports/oautherr"
)

// serverErrorText is the only description a server_error ever carries.
const serverErrorText = "the server could not complete the request"

// unavailableRetryAfter is what a 503 from a handler advertises: a store
// or breaker outage passes in seconds.
const unavailableRetryAfter = 5 * time.Second

// writeJSONError writes an RFC 6749 §5.2 error response with the server's
// one writer of them.
func writeJSONError(w http.ResponseWriter, status int, code, description string) {
	oautherr.Write(w, oautherr.Response{Status: status, Code: code, Description: description})
}

// oauthError writes err as a protocol error. Errors that are not protocol
// errors, and server_error itself, go out with a fixed text; their cause
// goes to the log only.
func (h *handlers) oauthError(w http.ResponseWriter, r *http.Request, err error) {
	e := h.logged(r, err)
	res := oautherr.Response{Status: e.Status, Code: e.Code, Description: e.Description}
	if e.Status == http.StatusServiceUnavailable {
		res.RetryAfter = unavailableRetryAfter
	}
	oautherr.Write(w, res)
}

// logged converts err to a protocol error and logs server-side causes.
func (h *handlers) logged(r *http.Request, err error) *core.Error {
	e := core.AsError(err)
	if e.Code == core.ErrServerError.Code && r.Context().Err() != nil {
		// The client went away; nothing failed on this side.
		h.log.InfoContext(r.Context(), "request abandoned by the client",
			"request_id", RequestIDFrom(r.Context()), "path", r.URL.Path)
		return core.ErrServerError.WithDescription(serverErrorText)
	}
	if e.Code == core.ErrServerError.Code {
		h.log.ErrorContext(r.Context(), "request failed",
			"request_id", RequestIDFrom(r.Context()), "trace_id", TraceIDFrom(r.Context()),
			"path", r.URL.Path, "error", causeText(err))
		return core.ErrServerError.WithDescription(serverErrorText)
	}
	if e.Code == core.ErrTemporarilyUnavailable.Code {
		// A dependency is down or its breaker open: the breaker and the
		// dependency's own outage log say so once, not once per request.
		h.log.DebugContext(r.Context(), "request refused",
			"request_id", RequestIDFrom(r.Context()), "path", r.URL.Path, "error", e.Code, "cause", causeText(err))
		return e
	}
	if e.Cause != nil {
		h.log.InfoContext(r.Context(), "request refused",
			"request_id", RequestIDFrom(r.Context()), "path", r.URL.Path, "error", e.Code, "cause", e.Cause.Error())
	}
	return e
}

func causeText(err error) string {
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		err = u
	}
	return err.Error()
}

// bearerError answers a request authorized by a bearer token (the
// registration endpoints) with RFC 6750 §3 headers.
func (h *handlers) bearerError(w http.ResponseWriter, r *http.Request, err error) {
	e := h.logged(r, err)
	if err == errNoToken {
		w.Header().Set("WWW-Authenticate", "Bearer")
	} else if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		w.Header().Set("WWW-Authenticate", "Bearer "+challengeError(e))
	}
	writeJSONError(w, e.Status, e.Code, e.Description)
}

// resourceError answers a refused request to a protected resource that
// takes bearer and DPoP tokens. A request made with the DPoP scheme gets
// the error in a DPoP challenge (RFC 9449 §7.1); any other gets it in a
// Bearer challenge (RFC 6750 §3) followed by a DPoP challenge naming the
// algorithms, so the client learns that DPoP is on offer (RFC 9449 §7.2).
// DPoP proof and nonce errors are 401 there, not 400 as at the token
// endpoint.
func (h *handlers) resourceError(w http.ResponseWriter, r *http.Request, scheme string, err error) {
	e := h.logged(r, err)
	status := e.Status
	if e.Code == core.ErrInvalidDPoPProof.Code || e.Code == core.ErrUseDPoPNonce.Code {
		status = http.StatusUnauthorized
	}
	algs := `algs="` + strings.Join(h.p.DPoPAlgorithms(), " ") + `"`
	hd := w.Header()
	switch {
	case err == errNoToken:
		hd.Add("WWW-Authenticate", "Bearer")
		hd.Add("WWW-Authenticate", "DPoP "+algs)
	case status != http.StatusUnauthorized && status != http.StatusForbidden:
	case scheme == core.TokenTypeDPoP:
		hd.Add("WWW-Authenticate", "DPoP "+challengeError(e)+", "+algs)
	default:
		hd.Add("WWW-Authenticate", "Bearer "+challengeError(e))
		hd.Add("WWW-Authenticate", "DPoP "+algs)
	}
	writeJSONError(w, status, e.Code, e.Description)
}

// challengeError is the error and error_description of a challenge.
func challengeError(e *core.Error) string {
	v := `error="` + e.Code + `"`
	if e.Description != "" {
		v += `, error_description="` + strings.NewReplacer(`"`, `'`, `\`, `/`).Replace(e.Description) + `"`
	}
	return v
}

// formError turns a failure to read a form into a protocol error.
func formError(err error) *core.Error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &core.Error{Code: "invalid_request", Description: "the request body is too large", Status: http.StatusRequestEntityTooLarge}
	}
	return core.ErrInvalidRequest.WithDescription("the request body is not a valid form")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	encodeJSON(w, status, v)
}

// jsonWriter is a reusable buffer with its encoder: a response is encoded
// whole before it is written, so it goes out with a Content-Length in one
// write, and no request allocates an encoder of its own.
type jsonWriter struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonWriters = sync.Pool{New: func() any {
	jw := &jsonWriter{}
	jw.enc = json.NewEncoder(&jw.buf)
	return jw
}}

// maxPooledJSON keeps an unusually large response's buffer out of the pool.
const maxPooledJSON = 64 << 10

// encodeJSON writes the status and v as the JSON body; the caller has set
// the headers.
func encodeJSON(w http.ResponseWriter, status int, v any) {
	jw := jsonWriters.Get().(*jsonWriter)
	defer func() {
		if jw.buf.Cap() <= maxPooledJSON {
			jw.buf.Reset()
			jsonWriters.Put(jw)
		}
	}()
	if err := jw.enc.Encode(v); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(jw.buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(jw.buf.Bytes())
}

func (h *handlers) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/oauth/") {
		writeJSONError(w, http.StatusNotFound, "invalid_request", "no such endpoint")
		return
	}
	h.errorPage(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address.", "")
}

func (h *handlers) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "method "+r.Method+" is not allowed here")
}
