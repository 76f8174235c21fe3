package target

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Paths of the server's endpoints, relative to its base URL.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/.well-known/jwks.json"
	PathAuthorize  = "/oauth/authorize"
	PathToken      = "/oauth/token" // #nosec G101 -- an endpoint path, not a credential
	PathIntrospect = "/oauth/introspect"
	PathUserinfo   = "/oauth/userinfo"
	PathRegister   = "/oauth/register"
	PathLogin      = "/login"
	PathConsent    = "/consent"
)

// Server is a running authorization server reached at Base.
type Server struct {
	// Base is the URL the benchmark sends requests to, without a trailing
	// slash; it may differ from the issuer the server advertises.
	Base string
	HTTP *http.Client
}

// NewHTTPClient returns a keep-alive client sized for concurrency workers:
// every worker keeps its connection between requests, so the run measures
// requests and not TCP handshakes.
func NewHTTPClient(concurrency int, timeout time.Duration) *http.Client {
	idle := concurrency*2 + 8
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			// Benchmarks target a server on this machine; a proxy from the
			// environment would measure the proxy.
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        idle * 2,
			MaxIdleConnsPerHost: idle,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// Client is a registered client's credentials.
type Client struct {
	ID, Secret string
}

// basic is the Authorization header value of client_secret_basic
// (RFC 6749 §2.3.1: each part form-urlencoded, then Base64).
func (c Client) basic() string {
	raw := url.QueryEscape(c.ID) + ":" + url.QueryEscape(c.Secret)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))
}

// HTTPError is a response outside 2xx.
type HTTPError struct {
	Method, Path string
	Status       int
	// Body is the start of the response body.
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// maxErrorBody bounds the body text kept in an HTTPError.
const maxErrorBody = 300

// Call is one request prepared ahead, to be sent many times.
type Call struct {
	Method, URL, Path string
	Body              string
	ContentType       string
	Authorization     string
}

// FormCall prepares a form POST to path, authenticated as c when c.ID is
// set.
func (s *Server) FormCall(path string, form url.Values, c Client) Call {
	call := Call{Method: http.MethodPost, URL: s.Base + path, Path: path, Body: form.Encode(), ContentType: "application/x-www-form-urlencoded"}
	if c.ID != "" {
		call.Authorization = c.basic()
	}
	return call
}

// GetCall prepares a GET of path with an optional bearer token.
func (s *Server) GetCall(path, bearer string) Call {
	call := Call{Method: http.MethodGet, URL: s.Base + path, Path: path}
	if bearer != "" {
		call.Authorization = "Bearer " + bearer
	}
	return call
}

// Send sends call and reads the response body into buf (reset first), so
// a worker reuses one buffer for all its requests. A response outside 2xx
// is an *HTTPError.
func (s *Server) Send(ctx context.Context, call *Call, buf *bytes.Buffer) error {
	var body io.Reader
	if call.Body != "" {
		body = strings.NewReader(call.Body)
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, call.URL, body)
	if err != nil {
		return err
	}
	if call.ContentType != "" {
		req.Header.Set("Content-Type", call.ContentType)
	}
	if call.Authorization != "" {
		req.Header.Set("Authorization", call.Authorization)
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf.Reset()
	// Reading to the end returns the connection to the pool.
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &HTTPError{Method: call.Method, Path: call.Path, Status: resp.StatusCode, Body: snippet(buf.Bytes())}
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxErrorBody {
		s = s[:maxErrorBody] + "..."
	}
	return s
}

// sendJSON sends call and decodes a JSON answer into v.
func (s *Server) sendJSON(ctx context.Context, call Call, v any) error {
	var buf bytes.Buffer
	if err := s.Send(ctx, &call, &buf); err != nil {
		return err
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return fmt.Errorf("%s %s: response is not the JSON expected: %w", call.Method, call.Path, err)
	}
	return nil
}

// Discovery is the part of the provider metadata the benchmark reads.
type Discovery struct {
	Issuer string `json:"issuer"`
}

// Discover reads the server's metadata (OIDC Discovery §4), which also
// proves that Base is this kind of server and that it answers.
func (s *Server) Discover(ctx context.Context) (Discovery, error) {
	var d Discovery
	if err := s.sendJSON(ctx, s.GetCall(PathDiscovery, ""), &d); err != nil {
		return d, err
	}
	if d.Issuer == "" {
		return d, fmt.Errorf("%s%s has no issuer: is this the OAuth server?", s.Base, PathDiscovery)
	}
	return d, nil
}

// Register registers a client through dynamic registration (RFC 7591 §3)
// with the initial access token.
func (s *Server) Register(ctx context.Context, initialToken string, metadata map[string]any) (Client, error) {
	body, err := json.Marshal(metadata)
	if err != nil {
		return Client{}, err
	}
	call := Call{
		Method: http.MethodPost, URL: s.Base + PathRegister, Path: PathRegister, Body: string(body),
		ContentType: "application/json", Authorization: "Bearer " + initialToken,
	}
	var resp struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := s.sendJSON(ctx, call, &resp); err != nil {
		return Client{}, fmt.Errorf("register a client: %w", err)
	}
	if resp.ClientID == "" {
		return Client{}, fmt.Errorf("register a client: no client_id in the response")
	}
	return Client{ID: resp.ClientID, Secret: resp.ClientSecret}, nil
}

// TokenResponse is a token endpoint answer (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// Token posts form to the token endpoint as c.
func (s *Server) Token(ctx context.Context, c Client, form url.Values) (TokenResponse, error) {
	var t TokenResponse
	if err := s.sendJSON(ctx, s.FormCall(PathToken, form, c), &t); err != nil {
		return t, err
	}
	if t.AccessToken == "" {
		return t, fmt.Errorf("token response without access_token")
	}
	return t, nil
}

// ClientCredentialsForm is the token request of the client_credentials
// grant (RFC 6749 §4.4.2).
func ClientCredentialsForm(scope string) url.Values {
	f := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		f.Set("scope", scope)
	}
	return f
}

// CodeForm is the token request redeeming an authorization code
// (RFC 6749 §4.1.3) with its PKCE verifier (RFC 7636 §4.5).
func CodeForm(code Code, redirectURI string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code.Value},
		"redirect_uri":  {redirectURI},
		"code_verifier": {code.Verifier},
	}
}

// RefreshForm is the token request of the refresh_token grant
// (RFC 6749 §6).
func RefreshForm(refreshToken string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
}
