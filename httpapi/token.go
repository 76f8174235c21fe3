package httpapi

import (
	"io"
	"mime"
	"net/http"
	"net/url"

	"oauth2-server.dev/core"
	"oauth2-server.dev/ports"
)

// token serves the token endpoint (RFC 6749 §3.2).
func (h *handlers) token(w http.ResponseWriter, r *http.Request) {
	h.serveClient(w, r, withDPoP, func(c clientCall) error {
		resp, err := h.p.Token(r.Context(), core.TokenRequest{Client: c.cred, Form: c.form, DPoP: c.proof})
		if err != nil {
			return err
		}
		h.metrics.countTokens(c.form.Get("grant_type"), resp)
		hd := w.Header()
		hd.Set("Content-Type", "application/json")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Pragma", "no-cache")
		encodeJSON(w, http.StatusOK, resp)
		return nil
	})
}

// clientCall is a request to an endpoint that authenticates clients.
type clientCall struct {
	form url.Values
	cred core.ClientCredentials
	// keys are what the failure guard counts a failed authentication under.
	keys []string
	// proof is the DPoP proof sent, zero when none was or the endpoint
	// takes none.
	proof core.DPoPProof
}

// Whether an endpoint that authenticates clients takes DPoP proofs.
const (
	withDPoP    = true
	withoutDPoP = false
)

// serveClient reads a request to an endpoint that authenticates clients,
// with its DPoP proof when dpop is set, and hands it to serve. A request
// it cannot read is answered here; an error serve returns is written by
// clientAuthError, so a failed client authentication is counted and
// challenged.
func (h *handlers) serveClient(w http.ResponseWriter, r *http.Request, dpop bool, serve func(clientCall) error) {
	var (
		c  clientCall
		ok bool
	)
	if c.form, c.cred, c.keys, ok = h.clientRequest(w, r); !ok {
		return
	}
	if dpop {
		if c.proof, ok = h.dpopRequest(w, r); !ok {
			return
		}
	}
	if err := serve(c); err != nil {
		h.clientAuthError(w, r, c.cred, c.keys, err)
	}
}

// clientRequest reads the form and the client credentials of a request to
// an endpoint that authenticates clients, and refuses callers the failure
// guard has blocked. It answers errors itself; ok is false then.
func (h *handlers) clientRequest(w http.ResponseWriter, r *http.Request) (form url.Values, cred core.ClientCredentials, keys []string, ok bool) {
	form, err := postForm(r)
	if err != nil {
		h.oauthError(w, r, err)
		return nil, cred, nil, false
	}
	// Before the credentials are read: a repeated client_id or
	// client_secret is refused, not read from its first copy.
	if err := core.RefuseRepeated(form); err != nil {
		h.oauthError(w, r, err)
		return nil, cred, nil, false
	}
	if cred, err = clientCredentials(r, form); err != nil {
		h.oauthError(w, r, err)
		return nil, cred, nil, false
	}
	if cred.Certificates, err = h.clientCertificates(r); err != nil {
		h.oauthError(w, r, err)
		return nil, cred, nil, false
	}
	keys = failureKeys(r, clientAccount(cred))
	if blocked, retry := h.blocked(r, keys); blocked {
		tooManyFailures(w, retry)
		return nil, cred, nil, false
	}
	return form, cred, keys, true
}

// clientAuthError writes err, adding the WWW-Authenticate challenge RFC 6749
// §5.2 requires when Basic authentication failed.
func (h *handlers) clientAuthError(w http.ResponseWriter, r *http.Request, cred core.ClientCredentials, keys []string, err error) {
	e := core.AsError(err)
	if e.Code == core.ErrInvalidClient.Code {
		h.metrics.authFailures.WithLabelValues("client").Inc()
		h.recordFailure(r, keys)
		if cred.Method == ports.AuthMethodSecretBasic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oauth2", charset="UTF-8"`)
		}
	}
	h.oauthError(w, r, err)
}

// postForm reads an application/x-www-form-urlencoded body. Parameters in
// the query string are ignored: RFC 6749 §3.2 puts them in the body.
func postForm(r *http.Request) (url.Values, error) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		// The exact type, by far the most common, needs no parsing.
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, core.ErrInvalidRequest.WithDescription("the body must be application/x-www-form-urlencoded")
		}
	}
	// A request's form is read once, however many times it is asked for.
	if r.PostForm != nil {
		return r.PostForm, nil
	}
	// Read and parsed here rather than by Request.ParseForm, which would
	// parse the media type once more. The cap is ParseForm's own, for a
	// request that met no body limit before.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBody+1))
	if err != nil {
		return nil, formError(err)
	}
	if len(body) > maxFormBody {
		return nil, formError(&http.MaxBytesError{Limit: maxFormBody})
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, formError(err)
	}
	r.PostForm = form
	return form, nil
}

// maxFormBody caps a form body read by postForm.
const maxFormBody = 10 << 20

// clientCredentials finds how the client authenticates: HTTP Basic, form
// secret, or a bare client_id. Using two methods at once is an error
// (RFC 6749 §2.3).
func clientCredentials(r *http.Request, form url.Values) (core.ClientCredentials, error) {
	formID := form.Get("client_id")
	_, formSecret := form["client_secret"]
	_, _, basic := r.BasicAuth()
	if assertion, typ := form.Get("client_assertion"), form.Get("client_assertion_type"); assertion != "" || typ != "" {
		if basic || formSecret {
			return core.ClientCredentials{}, core.ErrInvalidRequest.WithDescription("use one client authentication method, not several")
		}
		// RFC 7521 §4.2: both parameters, and the JWT bearer type.
		if typ != core.AssertionTypeJWTBearer || assertion == "" {
			return core.ClientCredentials{}, core.ErrInvalidRequest.WithDescription("client_assertion_type must be " + core.AssertionTypeJWTBearer + " with a client_assertion")
		}
		return core.ClientCredentials{ID: formID, Assertion: assertion, Method: core.AuthMethodPrivateKeyJWT}, nil
	}
	if user, pass, ok := r.BasicAuth(); ok {
		if formSecret {
			return core.ClientCredentials{}, core.ErrInvalidRequest.WithDescription("use one client authentication method, not several")
		}
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		id, err1 := url.QueryUnescape(user)
		sec, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return core.ClientCredentials{Method: ports.AuthMethodSecretBasic}, core.ErrInvalidClient.WithDescription("malformed Basic credentials")
		}
		if formID != "" && formID != id {
			return core.ClientCredentials{}, core.ErrInvalidRequest.WithDescription("client_id differs from the authenticated client")
		}
		return core.ClientCredentials{ID: id, Secret: sec, Method: ports.AuthMethodSecretBasic}, nil
	}
	if formSecret {
		return core.ClientCredentials{ID: formID, Secret: form.Get("client_secret"), Method: ports.AuthMethodSecretPost}, nil
	}
	if formID == "" {
		return core.ClientCredentials{}, core.ErrInvalidClient.WithDescription("client authentication is required")
	}
	return core.ClientCredentials{ID: formID, Method: ports.AuthMethodNone}, nil
}
