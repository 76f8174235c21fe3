package ceiling

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Config names the one client the endpoint knows and the tokens it issues.
type Config struct {
	// Issuer is the iss and aud of the tokens; the benchmark passes the
	// server's, so both sign payloads of the same size.
	Issuer       string
	ClientID     string
	ClientSecret string
	Scope        string
	TTL          time.Duration
}

// Handler is the token endpoint. It answers grant_type=client_credentials
// for its one client and refuses everything else the way the server does.
type Handler struct {
	cfg    Config
	key    *ecdsa.PrivateKey
	header string // base64url of the JOSE header, the same for every token
}

// New generates a fresh P-256 key and returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	kid, err := thumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{"ES256", kid, "at+jwt"})
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, key: key, header: base64.RawURLEncoding.EncodeToString(hdr)}, nil
}

// PublicKey verifies the tokens the handler signs.
func (h *Handler) PublicKey() *ecdsa.PublicKey { return &h.key.PublicKey }

// claims mirror the server's JWT access token claims (RFC 9068 §2.2) as
// issued to client_credentials: no auth_time, sid or act.
type claims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	Jti      string `json:"jti"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

// maxBody matches the server's default request body cap.
const maxBody = 1 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid form")
		return
	}
	user, pass, ok := r.BasicAuth()
	if ok {
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		var e1, e2 error
		user, e1 = url.QueryUnescape(user)
		pass, e2 = url.QueryUnescape(pass)
		ok = e1 == nil && e2 == nil
	}
	idOK := subtle.ConstantTimeCompare([]byte(user), []byte(h.cfg.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(pass), []byte(h.cfg.ClientSecret))
	if !ok || idOK&secretOK != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth2", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is served here")
		return
	}
	if s := r.PostForm.Get("scope"); s != "" && s != h.cfg.Scope {
		writeError(w, http.StatusBadRequest, "invalid_scope", "the client may not request this scope")
		return
	}
	now := time.Now()
	tok, err := h.sign(claims{
		Iss: h.cfg.Issuer, Sub: h.cfg.ClientID, Aud: h.cfg.Issuer,
		Exp: now.Add(h.cfg.TTL).Unix(), Iat: now.Unix(), Jti: randomID(), ClientID: h.cfg.ClientID,
		Scope: h.cfg.Scope,
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "the token could not be signed")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	_ = json.NewEncoder(w).Encode(tokenResponse{ // #nosec G117 -- a token response carries its access token to the client that asked for it
		AccessToken: tok, TokenType: "Bearer", ExpiresIn: int64(h.cfg.TTL / time.Second), Scope: h.cfg.Scope,
	})
}

// sign returns the compact JWS of c (RFC 7515 §7.1) with an ES256
// signature in the fixed-width r||s form RFC 7518 §3.4 requires.
func (h *Handler) sign(c claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(h.header)+enc.EncodedLen(len(payload))+enc.EncodedLen(64)+2)
	buf = append(buf, h.header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	r, s, err := ecdsa.Sign(rand.Reader, h.key, digest[:])
	if err != nil {
		return "", err
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig[:])
	return string(buf), nil
}

// randomID is a jti as the server makes them: 16 random bytes, base64url.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// thumbprint is the RFC 7638 thumbprint of a P-256 key, used as the kid so
// the header has the server's length too.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	raw, err := pub.Bytes()
	if err != nil {
		return "", err
	}
	// Uncompressed point: 0x04 || X || Y.
	x, y := raw[1:33], raw[33:65]
	enc := base64.RawURLEncoding
	// RFC 7638 §3.2: required members only, lexicographic order, no spaces.
	canon := `{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(x) + `","y":"` + enc.EncodeToString(y) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return enc.EncodeToString(sum[:]), nil
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, description})
}

// Server is the handler listening on a loopback port.
type Server struct {
	// URL is the base URL; the token endpoint is URL + "/oauth/token".
	URL string
	srv *http.Server
	ln  net.Listener
}

// Start serves h on 127.0.0.1 on a port the kernel picks.
func Start(h *Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(TokenPath, h)
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		ln:  ln,
	}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server and waits for in-flight requests.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.srv.Close()
	}
	return err
}

// TokenPath is where Start serves the token endpoint, as on the server.
const TokenPath = "/oauth/token" // #nosec G101 -- an endpoint path, not a credential

var _ http.Handler = (*Handler)(nil)
