package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"oauth2-server.dev/ports"
)

// Request objects passed by reference (RFC 9101 §5.2): the client hosts
// the signed object at an https URL it registered, and the server fetches
// it. A server that fetches URLs chosen by its callers is a tool for
// reaching places they cannot (RFC 9101 §10.4.1), so fetching is off until
// the operator names the hosts it may contact, and only URLs a client
// registered are ever fetched.
const (
	// maxRequestURILength is OIDC Core §6.2's bound on a request_uri.
	maxRequestURILength = 512
	// defaultRequestURITimeout bounds a fetch, body included.
	defaultRequestURITimeout = 5 * time.Second
)

// Errors of request_uri processing (OIDC Core §3.1.2.6, RFC 9101 §7).
var (
	ErrInvalidRequestURI      = &Error{Code: "invalid_request_uri", Status: http.StatusBadRequest}
	ErrRequestURINotSupported = &Error{Code: "request_uri_not_supported", Status: http.StatusBadRequest}
)

// RemoteRequestURIs reports whether the server fetches request objects by
// reference: only when the operator allow-listed hosts.
func (az *authorizationService) RemoteRequestURIs() bool { return len(az.settings.requestURIHosts) > 0 }

// RequestURIHostAllowed reports whether the allow-list hosts admits host
// on port. An entry "name" admits the name on port 443 (an https URL
// without a port); "name:port" admits that port. Names compare without
// regard to case; IPv6 literals are written in brackets when a port
// follows.
func RequestURIHostAllowed(hosts []string, host, port string) bool {
	host = strings.ToLower(strings.Trim(host, "[]"))
	if port == "" {
		port = "443"
	}
	for _, e := range hosts {
		eh, ep, err := net.SplitHostPort(e)
		if err != nil {
			eh, ep = e, "443"
		}
		if strings.ToLower(strings.Trim(eh, "[]")) == host && ep == port {
			return true
		}
	}
	return false
}

// sameRequestURI compares a presented request_uri with a registered one.
// The fragment is left out: OIDC Registration §2 uses it for a hash of the
// content, and it is never sent to the host.
func sameRequestURI(registered, presented string) bool {
	r, _, _ := strings.Cut(registered, "#")
	q, _, _ := strings.Cut(presented, "#")
	return r == q
}

// checkRequestURIs validates the request_uris of a registration (OIDC
// Registration §2) and returns what is wrong, or "".
func (az *authorizationService) checkRequestURIs(uris []string) string {
	if len(uris) == 0 {
		return ""
	}
	if !az.RemoteRequestURIs() {
		return "request_uris cannot be registered: this server does not fetch request objects by reference; send them as request or push them to the PAR endpoint"
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		// RFC 9101 §8: fetched over TLS only.
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(raw) > maxRequestURILength {
			return "request_uris must be https URLs of at most " + strconv.Itoa(maxRequestURILength) + " characters"
		}
		if !RequestURIHostAllowed(az.settings.requestURIHosts, u.Hostname(), u.Port()) {
			return "request_uris: the host " + u.Host + " is not allowed on this server"
		}
	}
	return ""
}

// remoteRequestParams fetches the request object a request_uri names and
// returns it as a request parameter, so that it is validated exactly like
// one passed by value (RFC 9101 §5.2.3, §6).
func (az *authorizationService) remoteRequestParams(ctx context.Context, outer url.Values) (url.Values, error) {
	if !az.RemoteRequestURIs() {
		return nil, ErrRequestURINotSupported.WithDescription("this server does not fetch request_uri values; send the request object as request, or push the request to " + az.settings.parEndpoint)
	}
	fail := func(why string) *Error { return ErrInvalidRequestURI.WithDescription("request_uri rejected: " + why) }
	uri := outer.Get("request_uri")
	switch {
	case len(outer["request_uri"]) > 1:
		return nil, fail("request_uri is repeated")
	case outer.Get("request") != "":
		// RFC 9101 §5: an object is passed by value or by reference, not
		// both.
		return nil, ErrInvalidRequest.WithDescription("request and request_uri cannot be used together")
	case len(uri) > maxRequestURILength:
		return nil, fail("longer than " + strconv.Itoa(maxRequestURILength) + " characters")
	}
	u, err := url.Parse(uri)
	// RFC 9101 §8: fetched over TLS only.
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, fail("it must be an https URL")
	}
	// RFC 9101 §10.4.1: only hosts the operator allowed are contacted.
	if !RequestURIHostAllowed(az.settings.requestURIHosts, u.Hostname(), u.Port()) {
		return nil, fail("its host is not allowed on this server")
	}
	clientID := outer.Get("client_id")
	if clientID == "" {
		return nil, ErrInvalidRequest.WithDescription("client_id is missing")
	}
	c, err := az.store.GetClient(ctx, az.settings.tenant, clientID)
	if errors.Is(err, ports.ErrNotFound) {
		return nil, ErrInvalidClient.WithDescription("unknown client_id")
	}
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	// OIDC Registration §2, RFC 9101 §10.4.1: only URLs the client
	// registered are fetched.
	if !slices.ContainsFunc(registeredMetadata(c).RequestURIs, func(r string) bool { return sameRequestURI(r, uri) }) {
		return nil, fail("it is not one of the client's registered request_uris")
	}
	obj, err := az.fetchRequestObject(ctx, u)
	if err != nil {
		return nil, err
	}
	return url.Values{"client_id": {clientID}, "request": {obj}}, nil
}

// fetchRequestObject GETs a request object with a deadline and a size cap.
// Transport failures keep their cause for the log only, and out of the
// error chain: a client's host being down is not this server being
// unavailable.
func (az *authorizationService) fetchRequestObject(ctx context.Context, u *url.URL) (string, error) {
	fail := func(why string) *Error { return ErrInvalidRequestURI.WithDescription("request_uri rejected: " + why) }
	ctx, cancel := context.WithTimeout(ctx, az.requestURITimeout)
	defer cancel()
	target := *u
	target.Fragment, target.RawFragment = "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return "", fail("it is not a valid URL")
	}
	// RFC 9101 §9.4 registers the media type of request objects.
	req.Header.Set("Accept", "application/oauth-authz-req+jwt, application/jwt")
	// A redirect could lead anywhere: the registered URL must answer
	// itself, whatever client the server was given.
	client := *az.requestURIClient
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		return "", fail("it could not be fetched").Wrap(fmt.Errorf("fetch request_uri: %v", err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fail("its host answered HTTP " + strconv.Itoa(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAssertionSize+1))
	if err == nil {
		// A body cut off by the deadline may read as ended rather than
		// failed.
		err = ctx.Err()
	}
	if err != nil {
		return "", fail("it could not be read in time").Wrap(fmt.Errorf("read request_uri: %v", err))
	}
	if len(body) > maxAssertionSize {
		return "", fail("the request object exceeds " + strconv.Itoa(maxAssertionSize) + " bytes")
	}
	obj := strings.TrimSpace(string(body))
	if obj == "" {
		// Without this, the request would go on as one without an object.
		return "", fail("its host answered no request object")
	}
	return obj, nil
}
