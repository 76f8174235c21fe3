package core

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"oauth2-server.dev/ports"
)

// audienceClaim is a JWT aud: a string for one audience, an array for
// several (RFC 7519 §4.1.3).
type audienceClaim []string

func (a audienceClaim) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// Token records keep their audiences space-separated: resource indicators
// are absolute URIs, which never contain a space.
func splitAudience(s string) []string { return strings.Fields(s) }
func joinAudience(a []string) string  { return strings.Join(a, " ") }

// parseResources validates resource indicators (RFC 8707 §2): absolute
// URIs without a fragment, each allowed for the client by its
// registration's allowed_resources. Duplicates are dropped.
func parseResources(c *ports.Client, values []string) ([]string, *Error) {
	if len(values) == 0 {
		return nil, nil
	}
	allowed := registeredMetadata(c).AllowedResources
	var out []string
	for _, v := range values {
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(v, "#") {
			return nil, ErrInvalidTarget.WithDescription("resource must be an absolute URI without a fragment")
		}
		if !slices.Contains(allowed, v) {
			return nil, ErrInvalidTarget.WithDescription("the client may not request tokens for " + v)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// narrowResources picks the audiences of an access token from the
// resources a grant holds: the requested ones, which must be among them
// (RFC 8707 §2.2), or all of them.
func narrowResources(granted, requested []string) ([]string, *Error) {
	if len(requested) == 0 {
		return granted, nil
	}
	var out []string
	for _, r := range requested {
		if !slices.Contains(granted, r) {
			return nil, ErrInvalidTarget.WithDescription("resource " + r + " was not part of the authorization")
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// repeatableParams may appear more than once in a request (RFC 8707 §2,
// RFC 8693 §2.1).
var repeatableParams = []string{"resource", "audience"}

// RefuseRepeated returns invalid_request when form repeats a parameter
// other than resource and audience: RFC 6749 §3.2 says a parameter must
// not be included more than once, and the endpoints that authenticate
// clients neither pick one copy nor ignore the rest.
func RefuseRepeated(form url.Values) error {
	for name, v := range form {
		if len(v) > 1 && !slices.Contains(repeatableParams, name) {
			return ErrInvalidRequest.WithDescription(name + " is repeated")
		}
	}
	return nil
}
