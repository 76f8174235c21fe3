package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"oauth2-server.dev/core/authzdetails"
	"oauth2-server.dev/ports"
)

// ErrInvalidAuthorizationDetails is RFC 9396 §5's error for an
// authorization_details value that is malformed, of an unknown type, or
// more than the grant allows.
var ErrInvalidAuthorizationDetails = &Error{Code: "invalid_authorization_details", Status: http.StatusBadRequest}

// paramAuthorizationDetails is the request parameter of RFC 9396 §2.
const paramAuthorizationDetails = "authorization_details"

// AuthorizationDetailsTypes lists the authorization details types the
// server accepts; none when the operator configured none.
func (az *authorizationService) AuthorizationDetailsTypes() []string {
	return slices.Clone(az.settings.authorizationDetailsTypes)
}

// checkDetailTypes refuses type identifiers the parser could never
// accept, so that a typo in the configuration shows at start.
func checkDetailTypes(types []string) error {
	for _, t := range types {
		if t == "" || len(t) > authzdetails.MaxTypeLength {
			return fmt.Errorf("core: authorization details type %q must have 1 to %d bytes", t, authzdetails.MaxTypeLength)
		}
	}
	return nil
}

// clientDetailTypes returns the types the client may ask for: those it
// registered in authorization_details_types (RFC 9396 §10) that the server
// still accepts, or every type the server accepts when it registered none.
func (az *authorizationService) clientDetailTypes(c *ports.Client) []string {
	registered := az.dir.metadata(c).AuthorizationDetailsTypes
	if registered == nil {
		return az.settings.authorizationDetailsTypes
	}
	var out []string
	for _, t := range registered {
		if slices.Contains(az.settings.authorizationDetailsTypes, t) {
			out = append(out, t)
		}
	}
	return out
}

// parseAuthorizationDetails validates the authorization_details a client
// sends with an authorization or client_credentials request: well formed,
// and of types both the server and the client accept. An absent or empty
// parameter is no request (RFC 6749 §3.1) and costs nothing.
func (az *authorizationService) parseAuthorizationDetails(c *ports.Client, raw string) (authzdetails.List, *Error) {
	if raw == "" {
		return nil, nil
	}
	l, err := authzdetails.Parse(raw)
	if err != nil {
		return nil, ErrInvalidAuthorizationDetails.WithDescription(err.Error())
	}
	allowed := az.clientDetailTypes(c)
	for i, d := range l {
		// RFC 9396 §5: an unknown type is invalid_authorization_details.
		if !slices.Contains(az.settings.authorizationDetailsTypes, d.Type) {
			return nil, ErrInvalidAuthorizationDetails.WithDescription(fmt.Sprintf("authorization_details[%d].type %s is not supported by this server", i, strconv.Quote(d.Type)))
		}
		if !slices.Contains(allowed, d.Type) {
			return nil, ErrInvalidAuthorizationDetails.WithDescription(fmt.Sprintf("authorization_details[%d].type %s is not among the client's authorization_details_types", i, strconv.Quote(d.Type)))
		}
	}
	return l, nil
}

// requestedAuthorizationDetails reads the authorization_details of a token
// request that narrows a grant (RFC 9396 §6.1); nil without one. It is
// read before the grant is used, so a malformed value costs the client
// nothing.
func requestedAuthorizationDetails(form url.Values) (authzdetails.List, *Error) {
	raw := form.Get(paramAuthorizationDetails)
	if raw == "" {
		return nil, nil
	}
	l, err := authzdetails.Parse(raw)
	if err != nil {
		return nil, ErrInvalidAuthorizationDetails.WithDescription(err.Error())
	}
	return l, nil
}

// narrowAuthorizationDetails picks the authorization details of an access
// token from those of its grant, in canonical form: the requested ones,
// which the grant must cover (RFC 9396 §6), or all of them.
func narrowAuthorizationDetails(granted string, requested authzdetails.List) (string, error) {
	if len(requested) == 0 {
		return granted, nil
	}
	if granted == "" {
		return "", ErrInvalidAuthorizationDetails.WithDescription("the grant holds no authorization_details to ask for")
	}
	have, err := authzdetails.Decode(granted)
	if err != nil {
		return "", ErrServerError.Wrap(fmt.Errorf("stored authorization details: %w", err))
	}
	// RFC 9396 §6: asking for more than the grant holds is
	// invalid_authorization_details, as a wider scope is invalid_scope.
	if !have.Covers(requested) {
		return "", ErrInvalidAuthorizationDetails.WithDescription("authorization_details asks for more than was authorized")
	}
	return requested.JSON(), nil
}

// detailsGrants are the grants that take authorization_details at the
// token endpoint; the others refuse the parameter rather than drop it,
// since a client that sends it expects a token limited by it.
var detailsGrants = []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials}

// refuseAuthorizationDetails answers a token request of grantType that
// carries authorization_details its grant cannot honour.
func refuseAuthorizationDetails(grantType string, form url.Values) error {
	if form.Get(paramAuthorizationDetails) == "" || slices.Contains(detailsGrants, grantType) {
		return nil
	}
	return ErrInvalidAuthorizationDetails.WithDescription("authorization_details is not supported with grant_type " + grantType)
}

// rawDetails puts a canonical form into JSON output as the array it is;
// nil, and so left out, when there is none.
func rawDetails(canonical string) json.RawMessage {
	if canonical == "" {
		return nil
	}
	return json.RawMessage(canonical)
}

// requestObjectDetails takes the authorization_details claim of a request
// object (RFC 9396 §3: a JSON array there, not a string) as the raw JSON
// the parser checks, numbers and member names as signed.
func requestObjectDetails(payload []byte) (string, error) {
	var claims struct {
		AD json.RawMessage `json:"authorization_details"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	if len(claims.AD) == 0 || claims.AD[0] != '[' {
		return "", errors.New("claim authorization_details must be a JSON array")
	}
	return string(claims.AD), nil
}
