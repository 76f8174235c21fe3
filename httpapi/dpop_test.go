package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"oauth2-server.dev/core"
)

func TestDPoPProofHeader(t *testing.T) {
	tests := []struct {
		name     string
		headers  []string
		want     string
		wantCode string // protocol error code; "" for success
	}{
		{name: "no header is no proof"},
		{name: "one header is the proof", headers: []string{"a.b.c"}, want: "a.b.c"},
		{name: "surrounding spaces are trimmed", headers: []string{"  a.b.c "}, want: "a.b.c"},
		{name: "two headers are refused", headers: []string{"a.b.c", "d.e.f"}, wantCode: "invalid_dpop_proof"},
		{name: "an empty header is refused", headers: []string{" "}, wantCode: "invalid_dpop_proof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
			for _, v := range tt.headers {
				r.Header.Add("DPoP", v)
			}
			got, err := dpopProof(r)
			if tt.wantCode != "" {
				if e := core.AsError(err); err == nil || e.Code != tt.wantCode {
					t.Fatalf("dpopProof = %+v, %v; want %s", got, err, tt.wantCode)
				}
				return
			}
			if err != nil || got.JWT != tt.want || tt.want != "" && got.Method != http.MethodPost {
				t.Fatalf("dpopProof = %+v, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// RFC 9449 §7.1, §7.2: errors of a resource that takes both schemes name
// the DPoP algorithms, and carry the error in the scheme the request used.
func TestResourceChallenges(t *testing.T) {
	h := &handlers{log: slog.New(slog.DiscardHandler)}
	algs := `algs="` + strings.Join(h.p.DPoPAlgorithms(), " ") + `"`
	tests := []struct {
		name       string
		scheme     string
		err        error
		wantStatus int
		want       []string // the WWW-Authenticate headers, in order
	}{
		{name: "no token gets bare challenges of both schemes", err: errNoToken, wantStatus: 401,
			want: []string{"Bearer", "DPoP " + algs}},
		{name: "a bearer request gets the error as Bearer and DPoP on offer", scheme: "Bearer",
			err: core.ErrInvalidToken.WithDescription("bound"), wantStatus: 401,
			want: []string{`Bearer error="invalid_token", error_description="bound"`, "DPoP " + algs}},
		{name: "a DPoP request gets the error as DPoP", scheme: "DPoP",
			err: core.ErrInvalidToken.WithDescription("wrong key"), wantStatus: 401,
			want: []string{`DPoP error="invalid_token", error_description="wrong key", ` + algs}},
		{name: "an invalid proof is 401 at a resource", scheme: "DPoP",
			err: core.ErrInvalidDPoPProof.WithDescription("the DPoP proof's \"htu\" is wrong"), wantStatus: 401,
			want: []string{`DPoP error="invalid_dpop_proof", error_description="the DPoP proof's 'htu' is wrong", ` + algs}},
		{name: "a missing nonce is 401 at a resource", scheme: "DPoP",
			err: core.ErrUseDPoPNonce.WithDescription("use the nonce"), wantStatus: 401,
			want: []string{`DPoP error="use_dpop_nonce", error_description="use the nonce", ` + algs}},
		{name: "insufficient scope is 403 with a challenge", scheme: "DPoP",
			err: core.ErrInsufficientScope, wantStatus: 403,
			want: []string{`DPoP error="insufficient_scope", ` + algs}},
		{name: "a malformed request gets no challenge", scheme: "Bearer",
			err: core.ErrInvalidRequest.WithDescription("twice"), wantStatus: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.resourceError(rec, httptest.NewRequest(http.MethodGet, "/oauth/userinfo", nil), tt.scheme, tt.err)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Values("WWW-Authenticate"); !slices.Equal(got, tt.want) {
				t.Fatalf("WWW-Authenticate = %q\nwant %q", got, tt.want)
			}
		})
	}
}
