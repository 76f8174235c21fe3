package target

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// Code is an authorization code with the PKCE verifier of its request.
type Code struct {
	Value, Verifier string
}

// AuthParams describes the authorization requests a browser makes.
type AuthParams struct {
	Client      Client
	RedirectURI string
	Scope       string
}

// Browser is a user's browser with a signed-in session at the server.
// Its cookie jar is safe for concurrent use, so Code may be called from
// several goroutines.
type Browser struct {
	s      *Server
	params AuthParams
	http   *http.Client
}

// maxPage bounds the HTML read from the sign-in and consent pages.
const maxPage = 1 << 20

// SignIn signs username in through the server's sign-in and consent pages
// the way a person would, and returns the browser with its session and the
// code the first authorization produced.
func (s *Server) SignIn(ctx context.Context, p AuthParams, username, password string) (*Browser, Code, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, Code{}, err
	}
	base, err := url.Parse(s.Base)
	if err != nil {
		return nil, Code{}, err
	}
	b := &Browser{s: s, params: p, http: &http.Client{
		Transport: s.HTTP.Transport,
		Timeout:   s.HTTP.Timeout,
		Jar:       jar,
		// Follow the server's own redirects (to the sign-in and consent
		// pages); stop at the first that leaves it, which carries the
		// answer to the client.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != base.Host || len(via) >= 10 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}

	code, state, authURL := newCode(p, "")
	pg, err := b.get(ctx, authURL)
	if err != nil {
		return nil, Code{}, err
	}
	if !pg.isForm(PathLogin, `name="password"`) {
		return nil, Code{}, fmt.Errorf("expected the sign-in page, got %s", pg)
	}
	form := pg.hidden()
	form.Set("username", username)
	form.Set("password", password)
	if pg, err = b.post(ctx, PathLogin, form); err != nil {
		return nil, Code{}, err
	}
	if pg.isForm(PathLogin, `name="password"`) {
		return nil, Code{}, errors.New("sign-in refused: check -username and -password")
	}
	// A user who consented to this client before goes straight back to it.
	if pg.isForm(PathConsent, `value="allow"`) {
		form := pg.hidden()
		form.Set("decision", "allow")
		if pg, err = b.post(ctx, PathConsent, form); err != nil {
			return nil, Code{}, err
		}
	}
	if code.Value, err = b.codeFrom(pg, state); err != nil {
		return nil, Code{}, err
	}
	return b, code, nil
}

// Code asks for a new authorization code with prompt=none (OIDC Core
// §3.1.2.1), which the signed-in session answers without any page. Every
// code has its own PKCE verifier.
func (b *Browser) Code(ctx context.Context) (Code, error) {
	code, state, authURL := newCode(b.params, "none")
	pg, err := b.get(ctx, authURL)
	if err != nil {
		return Code{}, err
	}
	if code.Value, err = b.codeFrom(pg, state); err != nil {
		return Code{}, err
	}
	return code, nil
}

// newCode makes a fresh verifier and state and the authorization URL
// carrying them.
func newCode(p AuthParams, prompt string) (code Code, state, authURL string) {
	// RFC 7636 §4.1: 32 random octets give a 43-character verifier.
	verifier := randomString(32)
	state = randomString(12)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":     {p.Client.ID},
		"response_type": {"code"},
		"redirect_uri":  {p.RedirectURI},
		"scope":         {p.Scope},
		"state":         {state},
		// RFC 7636 §4.2: S256, the only method the server takes.
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	return Code{Verifier: verifier}, state, PathAuthorize + "?" + q.Encode()
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// page is what the browser shows after following the server's redirects.
type page struct {
	status   int
	path     string
	body     string
	location *url.URL // set when the server redirected away from itself
}

func (p page) String() string {
	if p.location != nil {
		return fmt.Sprintf("a redirect to %s", p.location.Redacted())
	}
	return fmt.Sprintf("%d at %s: %s", p.status, p.path, snippet([]byte(p.body)))
}

func (p page) isForm(path, marker string) bool {
	return p.status == http.StatusOK && p.path == path && strings.Contains(p.body, marker)
}

var (
	inputTag  = regexp.MustCompile(`<input\b[^>]*>`)
	attribute = regexp.MustCompile(`([a-z_]+)="([^"]*)"`)
)

// hidden returns the hidden inputs of the page's form (csrf_token and
// request_id on the sign-in and consent pages).
func (p page) hidden() url.Values {
	v := url.Values{}
	for _, tag := range inputTag.FindAllString(p.body, -1) {
		attrs := map[string]string{}
		for _, m := range attribute.FindAllStringSubmatch(tag, -1) {
			attrs[m[1]] = html.UnescapeString(m[2])
		}
		if attrs["type"] == "hidden" && attrs["name"] != "" {
			v.Set(attrs["name"], attrs["value"])
		}
	}
	return v
}

func (b *Browser) get(ctx context.Context, path string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.s.Base+path, nil)
	if err != nil {
		return page{}, err
	}
	return b.do(req)
}

func (b *Browser) post(ctx context.Context, path string, form url.Values) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.s.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *Browser) do(req *http.Request) (page, error) {
	resp, err := b.http.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return page{}, err
	}
	p := page{status: resp.StatusCode, path: resp.Request.URL.Path, body: string(body)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if p.location, err = resp.Location(); err != nil {
			return page{}, fmt.Errorf("redirect without Location from %s", p.path)
		}
	}
	return p, nil
}

// codeFrom reads the authorization response (RFC 6749 §4.1.2) from the
// redirect to the client.
func (b *Browser) codeFrom(p page, state string) (string, error) {
	if p.location == nil || !strings.HasPrefix(p.location.String(), b.params.RedirectURI) {
		return "", fmt.Errorf("expected a redirect to %s, got %s", b.params.RedirectURI, p)
	}
	q := p.location.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("authorization refused: %s: %s", e, q.Get("error_description"))
	}
	// RFC 6749 §4.1.2: state comes back unchanged.
	if got := q.Get("state"); got != state {
		return "", fmt.Errorf("the redirect carries state %q, want %q", got, state)
	}
	code := q.Get("code")
	if code == "" {
		return "", errors.New("the redirect to the client carries no code")
	}
	return code, nil
}
