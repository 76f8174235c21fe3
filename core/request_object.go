package core

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxRequestObjectLifetime bounds how far ahead a request object may
// expire (RFC 9101 §10.2 leaves it to the server; FAPI uses 60 minutes).
const maxRequestObjectLifetime = time.Hour

// requestObjectParams resolves a JWT-secured authorization request (RFC
// 9101): the request parameter is a JWT signed by one of the client's keys,
// and the authorization parameters come from its claims only (§6.3); of the
// outer request only client_id is used, and it must agree.
func (az *authorizationService) requestObjectParams(ctx context.Context, outer url.Values) (url.Values, error) {
	fail := func(why string) error {
		return ErrInvalidRequestObject.WithDescription("request object rejected: " + why)
	}
	raw := outer.Get("request")
	if len(outer["request"]) > 1 {
		return nil, fail("request is repeated")
	}
	if len(raw) > maxAssertionSize {
		return nil, fail("too large")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		// Encrypted request objects (five parts) are not supported.
		return nil, fail("not a signed JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	claims := map[string]any{}
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil {
		return nil, fail("malformed header or claims")
	}
	clientID := outer.Get("client_id")
	// RFC 9101 §5: client_id outside must match the object's; iss is the
	// client.
	if clientID == "" || claims["client_id"] != clientID || claims["iss"] != clientID {
		return nil, fail("client_id and iss must be the client's, inside and outside the object")
	}
	c, err := az.store.GetClient(ctx, az.settings.tenant, clientID)
	if err != nil {
		return nil, fail("unknown client")
	}
	meta := registeredMetadata(c)
	if !slices.Contains(assertionAlgs, hdr.Alg) || meta.RequestObjectAlg != "" && hdr.Alg != meta.RequestObjectAlg {
		return nil, fail("algorithm " + hdr.Alg + " is not accepted")
	}
	sig, err := decodeSig(parts[2])
	if err != nil {
		return nil, fail("malformed signature")
	}
	if err := az.clients.verifyPrivateKeyJWT(ctx, meta.clientKeysMetadata, hdr.Alg, hdr.Kid, []byte(parts[0]+"."+parts[1]), sig); err != nil {
		return nil, fail(err.Error())
	}
	var std assertionClaims
	_ = decodeSegment(parts[1], &std)
	now := az.clock.Now()
	// RFC 9101 §10.2: aud names this server; exp, nbf and a single-use jti
	// keep a captured object from being replayed.
	switch {
	case !az.clients.audienceIsMe(std.Aud):
		return nil, fail("aud must be the issuer")
	case std.Exp == nil:
		return nil, fail("exp is required")
	case !now.Before(std.expiry().Add(assertionClockSkew)):
		return nil, fail("expired")
	case std.expiry().Sub(now) > maxRequestObjectLifetime:
		return nil, fail("exp is too far in the future")
	case std.Nbf != nil && now.Add(assertionClockSkew).Before(time.Unix(int64(*std.Nbf), 0)):
		return nil, fail("not valid yet")
	}
	if std.Jti != "" {
		replayed, err := az.clients.useOnce(ctx, "request-object|"+clientID, &std, now)
		if err != nil {
			return nil, err
		}
		if replayed {
			return nil, fail("jti was used before")
		}
	}
	params := url.Values{}
	for k, v := range claims {
		switch k {
		case "iss", "aud", "exp", "nbf", "iat", "jti", "request", "request_uri":
			continue
		case paramAuthorizationDetails:
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			ad, err := requestObjectDetails(payload)
			if err != nil {
				return nil, fail(err.Error())
			}
			params.Set(k, ad)
			continue
		}
		switch v := v.(type) {
		case string:
			params.Set(k, v)
		case float64:
			params.Set(k, strconvFloat(v))
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					return nil, fail("claim " + k + " must be a string or an array of strings")
				}
				params.Add(k, s)
			}
		default:
			return nil, fail("claim " + k + " must be a string or an array of strings")
		}
	}
	params.Set("client_id", clientID)
	return params, nil
}

func strconvFloat(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%g", f)
}

// ErrInvalidRequestObject is RFC 9101 §6.3's error for a bad request
// object.
var ErrInvalidRequestObject = &Error{Code: "invalid_request_object", Status: 400}
