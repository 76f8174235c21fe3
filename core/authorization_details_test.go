package core

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/core/authzdetails"
	"oauth2-server.dev/core/secret"
	"oauth2-server.dev/ports"
)

const (
	paymentDetails = `[{"type":"payment_initiation","actions":["initiate","status"],"locations":["https://pay.example/"],
		"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A"}]`
	accountDetails = `[{"type":"account_information","actions":["list_accounts","read_balances"],"locations":["https://accounts.example/"]}]`
	bothDetails    = `[{"type":"account_information","actions":["list_accounts","read_balances"],"locations":["https://accounts.example/"]},
		{"type":"payment_initiation","actions":["initiate","status"],"locations":["https://pay.example/"],
		"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A"}]`
)

var detailTypes = []string{"payment_initiation", "account_information"}

// canonical is the canonical form of a value the test knows to be valid.
func canonical(t *testing.T, raw string) string {
	t.Helper()
	l, err := authzdetails.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return l.JSON()
}

// rarFixture is the DPoP fixture on a server accepting detailTypes, with
// a signed-in user who consented to the web client's scopes before, and
// clients limited to one type each.
type rarFixture struct {
	*dpopFixture
	sess              *ports.Session
	payOnly, svcAcct  ClientCredentials
	device            ClientCredentials
	requestObjectKey  *ecdsa.PrivateKey
	signedRequestsApp string
}

func newRARFixture(t *testing.T) *rarFixture {
	t.Helper()
	ctx := context.Background()
	f := &rarFixture{dpopFixture: newDPoPFixture(t, Config{AuthorizationDetailsTypes: detailTypes})}
	f.requestObjectKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.signedRequestsApp = "jar"
	for _, c := range []struct{ id, secret, meta string }{
		{"pay-only", "pay-secret-0123456789", `{"redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"],"authorization_details_types":["payment_initiation"]}`},
		{"svc-acct", "svc-acct-secret-0123456789", `{"grant_types":["client_credentials"],"scope":"api","authorization_details_types":["account_information"]}`},
		{"tv", "", `{"grant_types":["` + GrantDeviceCode + `"],"token_endpoint_auth_method":"none","scope":"openid"}`},
		{"jar", "jar-secret-0123456789", `{"redirect_uris":["https://app.example/cb"],"request_object_signing_alg":"ES256","jwks":` + string(publicJWKS(t, f.requestObjectKey, "k1")) + `}`},
	} {
		if _, err := f.p.EnsureClient(ctx, c.id, c.secret, []byte(c.meta)); err != nil {
			t.Fatal(err)
		}
	}
	f.payOnly = ClientCredentials{ID: "pay-only", Secret: "pay-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	f.svcAcct = ClientCredentials{ID: "svc-acct", Secret: "svc-acct-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	f.device = ClientCredentials{ID: "tv", Method: ports.AuthMethodNone}
	f.sess = &ports.Session{ID: "s1", Tenant: f.p.cfg.Tenant, UserID: f.user.ID, AuthTime: testNow, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}
	for _, client := range []string{"web", "pay-only", "jar"} {
		if err := f.store.SaveConsent(ctx, &ports.Consent{Tenant: f.p.cfg.Tenant, UserID: f.user.ID, ClientID: client, Scope: "openid profile email offline_access", GrantedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// authorizeParams is an authorization request of clientID plus extra.
func (f *rarFixture) authorizeParams(clientID string, extra url.Values) url.Values {
	q := url.Values{
		"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {f.redirect}, "scope": {"openid"}, "state": {"st"},
		"code_challenge": {pkceChallenge(f.verifier)}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return q
}

// approve runs an authorization request through the consent page, which
// it must reach, and returns the code.
func (f *rarFixture) approve(t *testing.T, params url.Values) string {
	t.Helper()
	ctx := context.Background()
	res, err := f.p.StartAuthorization(ctx, params, f.sess)
	if err != nil || res.Interaction != InteractionConsent {
		t.Fatalf("StartAuthorization = %+v, %v; want the consent page", res, err)
	}
	res, err = f.p.ConsentDecision(ctx, res.RequestID, f.sess, true)
	if err != nil || res.RedirectURL == "" {
		t.Fatalf("ConsentDecision = %+v, %v", res, err)
	}
	u, _ := url.Parse(res.RedirectURL)
	if code := u.Query().Get("code"); code != "" {
		return code
	}
	t.Fatalf("no code: %s", res.RedirectURL)
	return ""
}

func (f *rarFixture) token(cred ClientCredentials, form url.Values) (*TokenResponse, error) {
	return f.p.Token(context.Background(), TokenRequest{Client: cred, Form: form})
}

func (f *rarFixture) exchangeWith(cred ClientCredentials, code string, extra url.Values) (*TokenResponse, error) {
	form := url.Values{"grant_type": {GrantAuthorizationCode}, "code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {f.verifier}}
	for k, v := range extra {
		form[k] = v
	}
	return f.token(cred, form)
}

// accessTokenDetails returns the authorization_details claim of a JWT
// access token, in canonical form.
func accessTokenDetails(t *testing.T, token string) string {
	t.Helper()
	var claims struct {
		AD json.RawMessage `json:"authorization_details"`
	}
	if err := decodeSegment(strings.Split(token, ".")[1], &claims); err != nil {
		t.Fatal(err)
	}
	if len(claims.AD) == 0 {
		return ""
	}
	return canonical(t, string(claims.AD))
}

func TestAuthorizationDetailsAtTheAuthorizationEndpoint(t *testing.T) {
	f := newRARFixture(t)
	tests := []struct {
		name      string
		client    string
		params    url.Values
		wantError string // error in the redirect; "" for success
		consent   bool   // success goes through the consent page
	}{
		{name: "a known type asks for consent although the scopes were consented to before", client: "web",
			params: url.Values{"authorization_details": {paymentDetails}}, consent: true},
		{name: "a request without authorization_details uses the remembered consent", client: "web"},
		{name: "an empty authorization_details is no request", client: "web", params: url.Values{"authorization_details": {""}}},
		{name: "a client limited to a type may ask for it", client: "pay-only",
			params: url.Values{"authorization_details": {paymentDetails}}, consent: true},
		{name: "prompt=none cannot approve authorization_details", client: "web",
			params: url.Values{"authorization_details": {paymentDetails}, "prompt": {"none"}}, wantError: "consent_required"},
		{name: "an unknown type is refused", client: "web",
			params: url.Values{"authorization_details": {`[{"type":"crypto_transfer"}]`}}, wantError: "invalid_authorization_details"},
		{name: "a type outside the client's authorization_details_types is refused", client: "pay-only",
			params: url.Values{"authorization_details": {accountDetails}}, wantError: "invalid_authorization_details"},
		{name: "malformed JSON is refused", client: "web",
			params: url.Values{"authorization_details": {`[{"type":"payment_initiation"`}}, wantError: "invalid_authorization_details"},
		{name: "a common field of the wrong type is refused", client: "web",
			params: url.Values{"authorization_details": {`[{"type":"payment_initiation","actions":"initiate"}]`}}, wantError: "invalid_authorization_details"},
		{name: "an oversized value is refused", client: "web",
			params: url.Values{"authorization_details": {`[{"type":"payment_initiation","x":"` + strings.Repeat("x", authzdetails.MaxBytes) + `"}]`}}, wantError: "invalid_authorization_details"},
		{name: "a repeated parameter is refused", client: "web",
			params: url.Values{"authorization_details": {paymentDetails, accountDetails}}, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.p.StartAuthorization(context.Background(), f.authorizeParams(tt.client, tt.params), f.sess)
			if err != nil {
				t.Fatalf("StartAuthorization: %v", err)
			}
			if tt.consent {
				if res.Interaction != InteractionConsent {
					t.Fatalf("got %+v, want the consent page", res)
				}
				return
			}
			if res.Interaction != InteractionNone {
				t.Fatalf("got interaction %q, want a redirect", res.Interaction)
			}
			u, err := url.Parse(res.RedirectURL)
			if err != nil || !strings.HasPrefix(res.RedirectURL, f.redirect+"?") {
				t.Fatalf("redirect %q is not to the client", res.RedirectURL)
			}
			q := u.Query()
			if q.Get("error") != tt.wantError || q.Get("state") != "st" {
				t.Fatalf("redirect %s, want error %q and the state", res.RedirectURL, tt.wantError)
			}
			if tt.wantError == "" && q.Get("code") == "" {
				t.Fatalf("redirect %s has no code", res.RedirectURL)
			}
		})
	}
	t.Run("a server configured with no types refuses every type", func(t *testing.T) {
		plain := newDPoPFixture(t, Config{})
		res, err := plain.p.StartAuthorization(context.Background(), f.authorizeParams("web", url.Values{"authorization_details": {paymentDetails}}), f.sess)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(res.RedirectURL)
		if u.Query().Get("error") != "invalid_authorization_details" || !strings.Contains(u.Query().Get("error_description"), "not supported") {
			t.Fatalf("redirect %s", res.RedirectURL)
		}
	})
	t.Run("the approved details are kept with the code", func(t *testing.T) {
		code := f.approve(t, f.authorizeParams("web", url.Values{"authorization_details": {paymentDetails}}))
		rec, err := f.store.GetAuthCode(context.Background(), f.p.cfg.Tenant, secret.Digest(code), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if rec.AuthorizationDetails != canonical(t, paymentDetails) {
			t.Fatalf("code holds %q", rec.AuthorizationDetails)
		}
	})
	t.Run("the consent event names the types and no values", func(t *testing.T) {
		var last ports.Event
		for _, e := range f.store.committed() {
			if e.Type == ports.EventConsentGranted {
				last = e
			}
		}
		if last.Data["authorization_details_types"] != "payment_initiation" {
			t.Fatalf("consent.granted data = %v", last.Data)
		}
		for _, v := range last.Data {
			if strings.Contains(v, "123.50") || strings.Contains(v, "Merchant") {
				t.Fatalf("the event carries a value of the details: %v", last.Data)
			}
		}
	})
	t.Run("a denied request redirects access_denied", func(t *testing.T) {
		ctx := context.Background()
		res, err := f.p.StartAuthorization(ctx, f.authorizeParams("web", url.Values{"authorization_details": {paymentDetails}}), f.sess)
		if err != nil || res.Interaction != InteractionConsent {
			t.Fatalf("%+v, %v", res, err)
		}
		res, err = f.p.ConsentDecision(ctx, res.RequestID, f.sess, false)
		if err != nil || !strings.Contains(res.RedirectURL, "error=access_denied") {
			t.Fatalf("%+v, %v", res, err)
		}
	})
}

func TestAuthorizationDetailsAtTheTokenEndpoint(t *testing.T) {
	ctx := context.Background()
	f := newRARFixture(t)
	both := canonical(t, bothDetails)

	code := f.approve(t, f.authorizeParams("web", url.Values{"authorization_details": {bothDetails}}))
	resp, err := f.exchangeWith(f.web, code, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the token response carries the approved details", func(t *testing.T) {
		if string(resp.AuthorizationDetails) != both {
			t.Fatalf("authorization_details = %s, want %s", resp.AuthorizationDetails, both)
		}
	})
	t.Run("the JWT access token carries them", func(t *testing.T) {
		if got := accessTokenDetails(t, resp.AccessToken); got != both {
			t.Fatalf("claim = %s", got)
		}
	})
	t.Run("introspection returns them for the access and the refresh token", func(t *testing.T) {
		for _, tok := range []string{resp.AccessToken, resp.RefreshToken} {
			in, _, err := f.p.Introspect(ctx, f.web, tok, DPoPProof{})
			if err != nil || !in.Active || string(in.AuthorizationDetails) != both {
				t.Fatalf("introspection = %+v, %v", in, err)
			}
		}
	})
	t.Run("a refresh keeps them", func(t *testing.T) {
		r, err := f.token(f.web, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {resp.RefreshToken}})
		if err != nil || string(r.AuthorizationDetails) != both || accessTokenDetails(t, r.AccessToken) != both {
			t.Fatalf("refresh = %+v, %v", r, err)
		}
		resp = r
	})
	t.Run("a refresh may narrow them and the grant keeps all of them", func(t *testing.T) {
		narrow := `[{"type":"payment_initiation","actions":["status"],"locations":["https://pay.example/"],"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A"}]`
		r, err := f.token(f.web, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {resp.RefreshToken}, "authorization_details": {narrow}})
		if err != nil || string(r.AuthorizationDetails) != canonical(t, narrow) {
			t.Fatalf("narrowed refresh = %+v, %v", r, err)
		}
		again, err := f.token(f.web, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {r.RefreshToken}})
		if err != nil || string(again.AuthorizationDetails) != both {
			t.Fatalf("refresh after narrowing = %+v, %v", again, err)
		}
		resp = again
	})
	t.Run("a refresh asking for more is refused and the refresh token stays usable", func(t *testing.T) {
		wider := `[{"type":"account_information","actions":["list_accounts","read_balances","read_transactions"],"locations":["https://accounts.example/"]}]`
		_, err := f.token(f.web, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {resp.RefreshToken}, "authorization_details": {wider}})
		wantCode(t, err, "invalid_authorization_details")
		if _, err := f.token(f.web, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {resp.RefreshToken}}); err != nil {
			t.Fatalf("the refused refresh used up the token: %v", err)
		}
	})

	tests := []struct {
		name      string
		approved  string // authorization_details at authorize; "" for none
		requested string // at the token endpoint
		want      string // the token's details; "" with wantError
		wantError string
	}{
		{name: "a subset of the objects", approved: bothDetails, requested: accountDetails, want: canonical(t, accountDetails)},
		{name: "fewer actions of one object", approved: accountDetails,
			requested: `[{"type":"account_information","actions":["read_balances"],"locations":["https://accounts.example/"]}]`,
			want:      canonical(t, `[{"type":"account_information","actions":["read_balances"],"locations":["https://accounts.example/"]}]`)},
		{name: "more actions than approved", approved: accountDetails,
			requested: `[{"type":"account_information","actions":["list_accounts","read_balances","transfer"],"locations":["https://accounts.example/"]}]`,
			wantError: "invalid_authorization_details"},
		{name: "another amount than approved", approved: paymentDetails,
			requested: strings.Replace(paymentDetails, "123.50", "9999.00", 1), wantError: "invalid_authorization_details"},
		{name: "a type that was not approved", approved: accountDetails, requested: paymentDetails, wantError: "invalid_authorization_details"},
		{name: "details from a grant without any", requested: accountDetails, wantError: "invalid_authorization_details"},
	}
	for _, tt := range tests {
		t.Run("asking for "+tt.name, func(t *testing.T) {
			extra := url.Values{}
			if tt.approved != "" {
				extra.Set("authorization_details", tt.approved)
			}
			var code string
			if tt.approved != "" {
				code = f.approve(t, f.authorizeParams("web", extra))
			} else {
				res, err := f.p.StartAuthorization(ctx, f.authorizeParams("web", nil), f.sess)
				if err != nil {
					t.Fatal(err)
				}
				u, _ := url.Parse(res.RedirectURL)
				code = u.Query().Get("code")
			}
			r, err := f.exchangeWith(f.web, code, url.Values{"authorization_details": {tt.requested}})
			if tt.wantError != "" {
				wantCode(t, err, tt.wantError)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(r.AuthorizationDetails) != tt.want || accessTokenDetails(t, r.AccessToken) != tt.want {
				t.Fatalf("token details %s, want %s", r.AuthorizationDetails, tt.want)
			}
			// RFC 9396 §6: the grant is unchanged; its refresh token
			// still buys every approved object.
			rr, err := f.token(f.web, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {r.RefreshToken}})
			if err != nil || string(rr.AuthorizationDetails) != canonical(t, tt.approved) {
				t.Fatalf("refresh = %+v, %v", rr, err)
			}
		})
	}
	t.Run("malformed details at the token endpoint do not use up the code", func(t *testing.T) {
		code := f.approve(t, f.authorizeParams("web", url.Values{"authorization_details": {paymentDetails}}))
		_, err := f.exchangeWith(f.web, code, url.Values{"authorization_details": {`[{"type":`}})
		wantCode(t, err, "invalid_authorization_details")
		if _, err := f.exchangeWith(f.web, code, nil); err != nil {
			t.Fatalf("the code was used up by the refused request: %v", err)
		}
	})
	t.Run("a token without details has no authorization_details member", func(t *testing.T) {
		res, err := f.p.StartAuthorization(ctx, f.authorizeParams("web", nil), f.sess)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(res.RedirectURL)
		r, err := f.exchangeWith(f.web, u.Query().Get("code"), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r)
		in, _, _ := f.p.Introspect(ctx, f.web, r.AccessToken, DPoPProof{})
		ib, _ := json.Marshal(in)
		if strings.Contains(string(b), "authorization_details") || strings.Contains(string(ib), "authorization_details") || accessTokenDetails(t, r.AccessToken) != "" {
			t.Fatalf("response %s, introspection %s", b, ib)
		}
	})
}

func TestAuthorizationDetailsWithClientCredentials(t *testing.T) {
	ctx := context.Background()
	f := newRARFixture(t)
	tests := []struct {
		name      string
		client    ClientCredentials
		details   string
		wantError string
	}{
		{name: "a client may ask for a type the server accepts", client: f.svc, details: accountDetails},
		{name: "a client limited to a type may ask for it", client: f.svcAcct, details: accountDetails},
		{name: "a type outside the client's registration is refused", client: f.svcAcct, details: paymentDetails, wantError: "invalid_authorization_details"},
		{name: "an unknown type is refused", client: f.svc, details: `[{"type":"crypto_transfer"}]`, wantError: "invalid_authorization_details"},
		{name: "a value that is not an array is refused", client: f.svc, details: `{"type":"account_information"}`, wantError: "invalid_authorization_details"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := f.token(tt.client, url.Values{"grant_type": {GrantClientCredentials}, "authorization_details": {tt.details}})
			if tt.wantError != "" {
				wantCode(t, err, tt.wantError)
				return
			}
			want := canonical(t, tt.details)
			if err != nil || string(r.AuthorizationDetails) != want || accessTokenDetails(t, r.AccessToken) != want {
				t.Fatalf("token = %+v, %v", r, err)
			}
			in, _, err := f.p.Introspect(ctx, tt.client, r.AccessToken, DPoPProof{})
			if err != nil || string(in.AuthorizationDetails) != want {
				t.Fatalf("introspection = %+v, %v", in, err)
			}
		})
	}
}

func TestAuthorizationDetailsRefusedWhereUnsupported(t *testing.T) {
	ctx := context.Background()
	f := newRARFixture(t)
	svcToken, err := f.serviceToken(f.svc, DPoPProof{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.EnsureClient(ctx, "gw", "gw-secret-0123456789", []byte(`{"grant_types":["`+GrantTokenExchange+`"],"scope":"api","token_exchange":{"impersonation":true}}`)); err != nil {
		t.Fatal(err)
	}
	gw := ClientCredentials{ID: "gw", Secret: "gw-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	t.Run("the device authorization endpoint", func(t *testing.T) {
		_, err := f.p.AuthorizeDevice(ctx, f.device, url.Values{"authorization_details": {accountDetails}})
		wantCode(t, err, "invalid_authorization_details")
	})
	t.Run("the device code grant", func(t *testing.T) {
		_, err := f.token(f.device, url.Values{"grant_type": {GrantDeviceCode}, "device_code": {"x"}, "authorization_details": {accountDetails}})
		wantCode(t, err, "invalid_authorization_details")
	})
	t.Run("the JWT bearer grant", func(t *testing.T) {
		trusting := newDPoPFixture(t, Config{AuthorizationDetailsTypes: detailTypes,
			TrustedIssuers: []TrustedIssuer{{Issuer: "https://idp.example", JWKS: `{"keys":[]}`}}})
		_, err := trusting.p.Token(ctx, TokenRequest{Client: trusting.svc, Form: url.Values{
			"grant_type": {GrantJWTBearer}, "assertion": {"a.b.c"}, "authorization_details": {accountDetails}}})
		wantCode(t, err, "invalid_authorization_details")
	})
	t.Run("token exchange", func(t *testing.T) {
		_, err := f.token(gw, url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {svcToken.AccessToken},
			"subject_token_type": {TokenTypeAccessToken}, "authorization_details": {accountDetails}})
		wantCode(t, err, "invalid_authorization_details")
		if _, err := f.token(gw, url.Values{"grant_type": {GrantTokenExchange}, "subject_token": {svcToken.AccessToken}, "subject_token_type": {TokenTypeAccessToken}}); err != nil {
			t.Fatalf("the same exchange without details: %v", err)
		}
	})
}

func TestAuthorizationDetailsInPushedAndSignedRequests(t *testing.T) {
	ctx := context.Background()
	f := newRARFixture(t)
	par := func(extra url.Values) (*PushedRequest, error) {
		form := f.authorizeParams("web", extra)
		delete(form, "client_id")
		return f.p.PushAuthorizationRequest(ctx, f.web, form, DPoPProof{})
	}
	t.Run("a pushed request carries them to the code", func(t *testing.T) {
		pr, err := par(url.Values{"authorization_details": {paymentDetails}})
		if err != nil {
			t.Fatal(err)
		}
		code := f.approve(t, url.Values{"client_id": {"web"}, "request_uri": {pr.RequestURI}})
		r, err := f.exchangeWith(f.web, code, nil)
		if err != nil || string(r.AuthorizationDetails) != canonical(t, paymentDetails) {
			t.Fatalf("token = %+v, %v", r, err)
		}
	})
	t.Run("a pushed request with an unknown type is refused at the PAR endpoint", func(t *testing.T) {
		_, err := par(url.Values{"authorization_details": {`[{"type":"crypto_transfer"}]`}})
		wantCode(t, err, "invalid_authorization_details")
	})
	t.Run("a pushed request with malformed details is refused at the PAR endpoint", func(t *testing.T) {
		_, err := par(url.Values{"authorization_details": {`[{"type":"payment_initiation",}]`}})
		wantCode(t, err, "invalid_authorization_details")
	})

	object := func(details any) string {
		var ad any
		if s, ok := details.(string); ok && strings.HasPrefix(s, "[") {
			_ = json.Unmarshal([]byte(s), &ad)
		} else {
			ad = details
		}
		return signedAssertion(t, f.requestObjectKey, "k1", map[string]any{
			"iss": "jar", "client_id": "jar", "aud": f.p.cfg.Issuer, "exp": testNow.Add(5 * time.Minute).Unix(), "jti": secret.Random(8),
			"response_type": "code", "redirect_uri": f.redirect, "scope": "openid", "state": "st",
			"code_challenge": pkceChallenge(f.verifier), "code_challenge_method": "S256",
			"authorization_details": ad,
		})
	}
	jar := ClientCredentials{ID: "jar", Secret: "jar-secret-0123456789", Method: ports.AuthMethodSecretBasic}
	t.Run("a request object carries them as a JSON array", func(t *testing.T) {
		code := f.approve(t, url.Values{"client_id": {"jar"}, "request": {object(paymentDetails)}})
		r, err := f.exchangeWith(jar, code, nil)
		if err != nil || string(r.AuthorizationDetails) != canonical(t, paymentDetails) {
			t.Fatalf("token = %+v, %v", r, err)
		}
	})
	t.Run("a request object with them as a string is refused", func(t *testing.T) {
		_, err := f.p.StartAuthorization(ctx, url.Values{"client_id": {"jar"}, "request": {object(`"` + paymentDetails + `"`)}}, f.sess)
		wantCode(t, err, "invalid_request_object")
	})
	t.Run("a request object with an unknown type redirects the error", func(t *testing.T) {
		res, err := f.p.StartAuthorization(ctx, url.Values{"client_id": {"jar"}, "request": {object(`[{"type":"crypto_transfer"}]`)}}, f.sess)
		if err != nil || !strings.Contains(res.RedirectURL, "error=invalid_authorization_details") {
			t.Fatalf("%+v, %v", res, err)
		}
	})
}

func TestAuthorizationDetailsDiscoveryAndRegistration(t *testing.T) {
	plain, _ := newTestProvider(t, Config{})
	if _, ok := plain.Metadata()["authorization_details_types_supported"]; ok {
		t.Error("a server without types advertises authorization_details_types_supported")
	}
	p, _ := newTestProvider(t, Config{AuthorizationDetailsTypes: detailTypes})
	if got, _ := p.Metadata()["authorization_details_types_supported"].([]string); strings.Join(got, ",") != "payment_initiation,account_information" {
		t.Errorf("authorization_details_types_supported = %v", got)
	}
	tests := []struct {
		name      string
		provider  *Provider
		meta      string
		wantError bool
	}{
		{name: "types the server accepts", provider: p, meta: `{"grant_types":["client_credentials"],"authorization_details_types":["payment_initiation"]}`},
		{name: "no types at all", provider: p, meta: `{"grant_types":["client_credentials"],"authorization_details_types":[]}`},
		{name: "a type the server does not accept", provider: p, meta: `{"grant_types":["client_credentials"],"authorization_details_types":["crypto_transfer"]}`, wantError: true},
		{name: "any type on a server without types", provider: plain, meta: `{"grant_types":["client_credentials"],"authorization_details_types":["payment_initiation"]}`, wantError: true},
		{name: "a string instead of an array", provider: p, meta: `{"grant_types":["client_credentials"],"authorization_details_types":"payment_initiation"}`, wantError: true},
	}
	for _, tt := range tests {
		t.Run("registering "+tt.name, func(t *testing.T) {
			_, err := tt.provider.buildClient([]byte(tt.meta))
			if tt.wantError {
				wantCode(t, err, "invalid_client_metadata")
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("a client registered with no types may ask for none", func(t *testing.T) {
		c, err := p.buildClient([]byte(`{"grant_types":["client_credentials"],"authorization_details_types":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, derr := p.parseAuthorizationDetails(c, paymentDetails); derr == nil || derr.Code != "invalid_authorization_details" {
			t.Fatalf("parse = %v", derr)
		}
	})
	t.Run("an empty configured type is refused at start", func(t *testing.T) {
		keys, _ := testKeys()
		if _, err := New(Config{Issuer: "https://id.example.com", AuthorizationDetailsTypes: []string{"payment_initiation", ""}},
			Deps{Store: newTestStore(), Keys: keys, Secrets: plain.secrets}); err == nil {
			t.Fatal("New accepted an empty type")
		}
	})
}

func TestAuthorizationDetailsInHybridAndBackchannelRequests(t *testing.T) {
	ctx := context.Background()
	f := newRARFixture(t)
	if _, err := f.p.EnsureClient(ctx, hybridClient, hybridSecret, []byte(`{"redirect_uris":["`+hybridRedirect+`"],
		"grant_types":["authorization_code","implicit"],"response_types":["code","token code"]}`)); err != nil {
		t.Fatal(err)
	}
	t.Run("the front-channel access token of code token carries the approved details", func(t *testing.T) {
		params := f.authorizeParams(hybridClient, url.Values{"response_type": {"code token"}, "redirect_uri": {hybridRedirect},
			"nonce": {"n"}, "authorization_details": {paymentDetails}})
		res, err := f.p.StartAuthorization(ctx, params, f.sess)
		if err != nil || res.Interaction != InteractionConsent {
			t.Fatalf("StartAuthorization = %+v, %v; want the consent page", res, err)
		}
		if res, err = f.p.ConsentDecision(ctx, res.RequestID, f.sess, true); err != nil {
			t.Fatal(err)
		}
		q, where := response(t, res)
		if where != "fragment" || q.Get("access_token") == "" {
			t.Fatalf("response in the %s: %v", where, q)
		}
		if got := accessTokenDetails(t, q.Get("access_token")); got != canonical(t, paymentDetails) {
			t.Fatalf("front-channel token details = %s", got)
		}
		hybrid := ClientCredentials{ID: hybridClient, Secret: hybridSecret, Method: ports.AuthMethodSecretBasic}
		r, err := f.token(hybrid, url.Values{"grant_type": {GrantAuthorizationCode}, "code": {q.Get("code")}, "redirect_uri": {hybridRedirect}, "code_verifier": {f.verifier}})
		if err != nil || string(r.AuthorizationDetails) != canonical(t, paymentDetails) {
			t.Fatalf("code exchange = %+v, %v", r, err)
		}
	})
	t.Run("a backchannel authentication request refuses them", func(t *testing.T) {
		_, err := parseBackchannelRequest(url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "authorization_details": {accountDetails}}, ports.CIBAModePoll)
		wantCode(t, err, "invalid_authorization_details")
	})
	t.Run("the CIBA grant refuses them", func(t *testing.T) {
		wantCode(t, refuseAuthorizationDetails(GrantCIBA, url.Values{"authorization_details": {accountDetails}}), "invalid_authorization_details")
	})
}
