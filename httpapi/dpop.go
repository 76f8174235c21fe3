package httpapi

import (
	"net/http"
	"strings"

	"oauth2-server.dev/core"
)

// dpopProof reads the DPoP header of a request (RFC 9449 §4.1); the zero
// proof when there is none.
func dpopProof(r *http.Request) (core.DPoPProof, error) {
	values := r.Header.Values("DPoP")
	switch {
	case len(values) == 0:
		return core.DPoPProof{}, nil
	case len(values) > 1:
		// RFC 9449 §4.3 (1): not more than one DPoP header.
		return core.DPoPProof{}, core.ErrInvalidDPoPProof.WithDescription("send one DPoP header, not several")
	case strings.TrimSpace(values[0]) == "":
		return core.DPoPProof{}, core.ErrInvalidDPoPProof.WithDescription("the DPoP header is empty")
	}
	return core.DPoPProof{JWT: strings.TrimSpace(values[0]), Method: r.Method}, nil
}

// sentDPoP reports whether the request carried a DPoP header at all.
func sentDPoP(r *http.Request) bool { return len(r.Header.Values("DPoP")) > 0 }

// dpopNonce gives the answer to a DPoP request a fresh DPoP-Nonce header
// when the server demands nonces (RFC 9449 §8.1, §8.2, §9): the client
// retries a use_dpop_nonce error with it, and keeps it for its next
// requests. Requests without DPoP never pay for it.
func (h *handlers) dpopNonce(w http.ResponseWriter) {
	if n := h.p.DPoPNonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n)
	}
}

// dpopRequest reads the DPoP proof of a request to an endpoint that
// authenticates clients and sets its DPoP-Nonce. It answers a header that
// cannot be read itself; ok is false then.
func (h *handlers) dpopRequest(w http.ResponseWriter, r *http.Request) (core.DPoPProof, bool) {
	if !sentDPoP(r) {
		return core.DPoPProof{}, true
	}
	h.dpopNonce(w)
	proof, err := dpopProof(r)
	if err != nil {
		h.oauthError(w, r, err)
		return core.DPoPProof{}, false
	}
	return proof, true
}
