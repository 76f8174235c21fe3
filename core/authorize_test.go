package core

import (
	"context"
	"net/url"
	"testing"

	"oauth2-server.dev/ports"
)

func TestAuthorizeRefusesRepeatedParameters(t *testing.T) {
	fx := newAuthzFixture(t)
	ctx := context.Background()
	cred := ClientCredentials{ID: hybridClient, Secret: hybridSecret, Method: ports.AuthMethodSecretBasic}
	push := func(t *testing.T) string {
		t.Helper()
		pr, err := fx.p.PushAuthorizationRequest(ctx, cred, fx.params(), DPoPProof{})
		if err != nil {
			t.Fatalf("PushAuthorizationRequest: %v", err)
		}
		return pr.RequestURI
	}
	repeat := func(name string) url.Values {
		v := fx.params()
		v.Add(name, v.Get(name))
		return v
	}
	tests := []struct {
		name      string
		params    func(t *testing.T) url.Values
		errorPage bool // refused on the error page rather than at the redirect URI
	}{
		{name: "repeated client_id is shown on the error page", params: func(*testing.T) url.Values { return repeat("client_id") }, errorPage: true},
		{name: "repeated redirect_uri is shown on the error page", params: func(*testing.T) url.Values { return repeat("redirect_uri") }, errorPage: true},
		{name: "repeated state is answered at the redirect URI", params: func(*testing.T) url.Values { return repeat("state") }},
		{name: "repeated scope is answered at the redirect URI", params: func(*testing.T) url.Values { return repeat("scope") }},
		{name: "repeated client_id beside a pushed request is refused", params: func(t *testing.T) url.Values {
			return url.Values{"client_id": {hybridClient, hybridClient}, "request_uri": {push(t)}}
		}, errorPage: true},
		{name: "a different second client_id beside a pushed request is refused", params: func(t *testing.T) url.Values {
			return url.Values{"client_id": {hybridClient, "plain"}, "request_uri": {push(t)}}
		}, errorPage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := fx.p.StartAuthorization(ctx, tt.params(t), fx.sess)
			if tt.errorPage {
				if err == nil || AsError(err).Code != ErrInvalidRequest.Code {
					t.Fatalf("StartAuthorization = %+v, %v; want invalid_request on the error page", res, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("StartAuthorization: %v; want an error response at the redirect URI", err)
			}
			if q, _ := response(t, res); q.Get("error") != ErrInvalidRequest.Code || q.Get("code") != "" {
				t.Fatalf("response %v, want invalid_request and no code", q)
			}
		})
	}
	t.Run("a refused pushed request is not used up", func(t *testing.T) {
		uri := push(t)
		if _, err := fx.p.StartAuthorization(ctx, url.Values{"client_id": {hybridClient, hybridClient}, "request_uri": {uri}}, fx.sess); err == nil {
			t.Fatal("repeated client_id accepted")
		}
		res, err := fx.p.StartAuthorization(ctx, url.Values{"client_id": {hybridClient}, "request_uri": {uri}}, fx.sess)
		if err != nil {
			t.Fatalf("the pushed request after the refusal: %v", err)
		}
		if q, _ := response(t, res); q.Get("code") == "" {
			t.Fatalf("the pushed request after the refusal answered %v, want a code", q)
		}
	})
}
