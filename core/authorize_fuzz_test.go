package core

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"oauth2-server.dev/ports"
)

// singleParams are the authorization request parameters that must not be
// repeated (RFC 6749 §3.1).
var singleParams = append(slices.Clone(authorizeParams), "request", "request_uri")

// FuzzAuthorizeRepeatedParameters adds arbitrary parameters to a valid
// authorization request from a client whose user is signed in and has
// consented, or beside a request it has pushed. Whenever a parameter that
// may appear once appears twice, the request is refused with
// invalid_request, on the error page or at the redirect URI, and no code
// or token is issued: neither copy is picked.
func FuzzAuthorizeRepeatedParameters(f *testing.F) {
	for _, q := range []string{
		"", "state=other", "scope=openid", "redirect_uri=https://rp.example/cb", "client_id=hybrid",
		"client_id=plain", "response_type=code+id_token", "response_mode=fragment", "nonce=n2",
		"code_challenge=x&code_challenge_method=plain", "prompt=none", "max_age=0", "login_hint=bob",
		"resource=https://api.example&resource=https://api2.example", "request=a.b.c", "request_uri=urn:x",
		"dpop_jkt=abc", "authorization_details=[]", "state=&state=", "unknown=1&unknown=2",
		"client%5Fid=hybrid", "state=a%00", "response_mode=jwt&state=x",
		"request_uri=pushed&client_id=plain", "request_uri=pushed&request_uri=pushed", "request_uri=pushed&state=x",
	} {
		f.Add(q)
	}
	fx := newAuthzFixture(f)
	ctx := context.Background()
	cred := ClientCredentials{ID: hybridClient, Secret: hybridSecret, Method: ports.AuthMethodSecretBasic}
	f.Fuzz(func(t *testing.T, query string) {
		extra, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		params, single := fx.params(), singleParams
		// A request_uri of "pushed" stands for a request the client has
		// just pushed: beside it only client_id and request_uri count,
		// every other parameter comes from the pushed request (RFC 9126
		// §4).
		for i, v := range extra["request_uri"] {
			if v == "pushed" {
				pr, err := fx.p.PushAuthorizationRequest(ctx, cred, fx.params(), DPoPProof{})
				if err != nil {
					t.Fatalf("PushAuthorizationRequest: %v", err)
				}
				extra["request_uri"][i] = pr.RequestURI
				params, single = url.Values{"client_id": {hybridClient}}, []string{"client_id", "request_uri"}
			}
		}
		for k, v := range extra {
			params[k] = append(params[k], v...)
		}
		var repeated []string
		for _, name := range single {
			if len(params[name]) > 1 {
				repeated = append(repeated, name)
			}
		}
		if len(repeated) == 0 {
			return
		}
		res, err := fx.p.StartAuthorization(ctx, params, fx.sess)
		want := []string{ErrInvalidRequest.Code}
		if params.Has("request") || params.Has("request_uri") {
			// A request object or a pushed request is resolved first, and
			// its own error may come first.
			want = append(want, ErrInvalidRequestObject.Code, ErrInvalidRequestURI.Code, ErrRequestURINotSupported.Code)
		}
		if err != nil {
			if code := AsError(err).Code; !slices.Contains(want, code) {
				t.Fatalf("repeated %v: error %v, want one of %v", repeated, err, want)
			}
			return
		}
		if res.Interaction != InteractionNone {
			t.Fatalf("repeated %v: the request went on to %v", repeated, res.Interaction)
		}
		q, _ := response(t, res)
		if jwt := q.Get("response"); jwt != "" {
			_, claims := verified(t, fx.p, jwt)
			q = url.Values{}
			for k, v := range claims {
				if s, ok := v.(string); ok {
					q.Set(k, s)
				}
			}
		}
		if code := q.Get("error"); !slices.Contains(want, code) {
			t.Fatalf("repeated %v: response %v, want an error in %v", repeated, q, want)
		}
		if q.Get("code") != "" || q.Get("access_token") != "" || q.Get("id_token") != "" {
			t.Fatalf("repeated %v: the error response carries credentials: %v", repeated, q)
		}
	})
}
