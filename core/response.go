package core

import (
	"net/url"
	"strings"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
)

// Response types the authorization endpoint serves: the code flow and the
// hybrid flows (OAuth 2.0 Multiple Response Type Encoding Practices §5,
// OIDC Core §3.3).
const (
	ResponseTypeCode             = "code"
	ResponseTypeCodeIDToken      = "code id_token"
	ResponseTypeCodeToken        = "code token"
	ResponseTypeCodeIDTokenToken = "code id_token token"
)

// ResponseTypes lists the supported response types in their canonical
// spelling. The implicit flow (token, id_token, id_token token) is not
// among them: RFC 9700 §2.1.2 advises against it, and every hybrid type
// still returns a code redeemed with PKCE.
var ResponseTypes = []string{ResponseTypeCode, ResponseTypeCodeIDToken, ResponseTypeCodeToken, ResponseTypeCodeIDTokenToken}

// GrantImplicit is the grant type OIDC Registration §2 pairs with the
// response types that return tokens from the authorization endpoint. The
// token endpoint has no such grant.
const GrantImplicit = "implicit"

// canonicalResponseType returns a response_type's values in canonical order
// (code, id_token, token): RFC 6749 §3.1.1 makes the order of the
// space-delimited values insignificant. ok is false when a value is empty,
// repeated or unknown.
func canonicalResponseType(rt string) (canonical string, ok bool) {
	var code, idToken, token bool
	for _, v := range strings.Split(rt, " ") {
		var seen *bool
		switch v {
		case "code":
			seen = &code
		case "id_token":
			seen = &idToken
		case "token":
			seen = &token
		default:
			return "", false
		}
		if *seen {
			return "", false
		}
		*seen = true
	}
	var parts []string
	if code {
		parts = append(parts, "code")
	}
	if idToken {
		parts = append(parts, "id_token")
	}
	if token {
		parts = append(parts, "token")
	}
	return strings.Join(parts, " "), true
}

// returnsTokens reports whether a response_type asks for a token or an ID
// token from the authorization endpoint, whether or not it is supported:
// such responses never travel in the query.
func returnsTokens(rt string) bool {
	for _, v := range strings.Fields(rt) {
		if v == "token" || v == "id_token" {
			return true
		}
	}
	return false
}

// responseTypeHas reports whether the canonical response type rt contains
// the value v.
func responseTypeHas(rt, v string) bool {
	for _, f := range strings.Fields(rt) {
		if f == v {
			return true
		}
	}
	return false
}

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices
// §2.1, Form Post Response Mode §2, JARM §2.3).
const (
	ResponseModeQuery       = "query"
	ResponseModeFragment    = "fragment"
	ResponseModeFormPost    = "form_post"
	ResponseModeJWT         = "jwt"
	ResponseModeQueryJWT    = "query.jwt"
	ResponseModeFragmentJWT = "fragment.jwt"
	ResponseModeFormPostJWT = "form_post.jwt"
)

// ResponseModes lists the supported response modes.
var ResponseModes = []string{
	ResponseModeQuery, ResponseModeFragment, ResponseModeFormPost,
	ResponseModeQueryJWT, ResponseModeFragmentJWT, ResponseModeFormPostJWT, ResponseModeJWT,
}

// resolveResponseMode decides how the response to a request for
// response_mode requested travels; tokens tells whether the response type
// returns tokens from the authorization endpoint. It always returns a mode
// to answer in, even with an error: the requested one when it can be used,
// else the response type's default, in its JWT form when a JWT mode was
// asked for.
func resolveResponseMode(requested string, tokens bool) (string, *Error) {
	def := ResponseModeQuery
	if tokens {
		// Multiple Response Types §5: fragment is the default of every
		// response type that returns a token or an ID token.
		def = ResponseModeFragment
	}
	switch requested {
	case "":
		return def, nil
	case ResponseModeQuery:
		if tokens {
			// Multiple Response Types §5: the query encoding MUST NOT be
			// used for these response types.
			return def, ErrInvalidRequest.WithDescription("response_mode query cannot carry tokens; use fragment, form_post or a JWT mode")
		}
		return requested, nil
	case ResponseModeFragment, ResponseModeFormPost, ResponseModeFragmentJWT, ResponseModeFormPostJWT:
		return requested, nil
	case ResponseModeJWT:
		// JARM §2.3.4: jwt is the response type's default encoding,
		// carrying a JWT.
		return def + ".jwt", nil
	case ResponseModeQueryJWT:
		if tokens {
			// JARM §2.3.1: not with response types that return tokens
			// unless the JWT is encrypted, and this server signs only.
			return ResponseModeFragmentJWT, ErrInvalidRequest.WithDescription("response_mode query.jwt cannot carry tokens; use fragment.jwt or form_post.jwt")
		}
		return requested, nil
	}
	return def, ErrInvalidRequest.WithDescription("response_mode must be one of " + strings.Join(ResponseModes, ", "))
}

// jarmLifetime is how long a response JWT is valid: JARM §2.1 recommends
// at most 10 minutes, and the browser delivers it at once.
const jarmLifetime = 10 * time.Minute

// authorizationAlg is the client's registered
// authorization_signed_response_alg, RS256 by default (JARM §4).
func authorizationAlg(c *ports.Client) string {
	if alg := registeredMetadata(c).AuthorizationSignedAlg; alg != "" {
		return alg
	}
	return keyset.RS256
}

// responseJWT packs the response parameters q into a JWT (JARM §2.1):
// issued by this server, for the client, short-lived, signed with the
// client's authorization_signed_response_alg.
func (az *authorizationService) responseJWT(c *ports.Client, q url.Values) (string, error) {
	claims := make(map[string]any, len(q)+3)
	for k := range q {
		claims[k] = q.Get(k)
	}
	claims["iss"] = az.settings.issuer
	claims["aud"] = c.ID
	claims["exp"] = az.clock.Now().Add(jarmLifetime).Unix()
	return az.keys.Sign(authorizationAlg(c), "", claims)
}

// redirect builds the authorization response to req: q plus state, with
// iss (RFC 9207) beside them or, in a JWT mode, all of them inside a signed
// JWT, encoded in the request's response mode.
func (az *authorizationService) redirect(req *AuthorizeRequest, q url.Values) (*AuthorizeResult, error) {
	if req.State != "" {
		q.Set("state", req.State)
	}
	mode := req.ResponseMode
	if base, ok := strings.CutSuffix(mode, ".jwt"); ok {
		tok, err := az.responseJWT(req.Client, q)
		if err != nil {
			return nil, ErrServerError.Wrap(err)
		}
		// JARM §2.3: the JWT is the response's one parameter; its iss
		// claim names the issuer.
		q, mode = url.Values{"response": {tok}}, base
	} else {
		q.Set("iss", az.settings.issuer)
	}
	switch mode {
	case ResponseModeFormPost:
		return &AuthorizeResult{FormPost: &FormPost{Action: req.RedirectURI, Params: q}}, nil
	case ResponseModeFragment:
		// Registered redirect URIs carry no fragment (RFC 6749 §3.1.2),
		// so the response is the whole of it.
		return &AuthorizeResult{RedirectURL: req.RedirectURI + "#" + q.Encode()}, nil
	}
	u, _ := url.Parse(req.RedirectURI)
	existing := u.Query()
	for k, v := range q {
		existing[k] = v
	}
	u.RawQuery = existing.Encode()
	return &AuthorizeResult{RedirectURL: u.String()}, nil
}

// errorRedirect sends the error e back to the client (RFC 6749 §4.1.2.1)
// in the request's response mode.
func (az *authorizationService) errorRedirect(req *AuthorizeRequest, e *Error) (*AuthorizeResult, error) {
	q := url.Values{"error": {e.Code}}
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	return az.redirect(req, q)
}
