package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
)

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>", the MAC
// taken with the shared secret over "<unix seconds>.<body>". Binding the
// time into the MAC lets a receiver refuse a captured request replayed
// later; within the tolerance, receivers deduplicate by event id.
const SignatureHeader = "X-Signature"

// MinSecretLen is the shortest secret New accepts: 128 bits, so that the
// MAC cannot be forged by guessing the secret. Use 32 random bytes.
const MinSecretLen = 16

// DefaultTolerance is a reasonable bound for Verify: wide enough for clock
// skew and retries in flight, narrow enough to make replay windows short.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrBadSignature   = errors.New("webhook: signature does not match")
	ErrStaleSignature = errors.New("webhook: signature timestamp outside tolerance")
)

// Batch is the JSON body of a request.
type Batch struct {
	Events []ports.Event `json:"events"`
}

// Config configures a Sink.
type Config struct {
	// URL receives the POSTs.
	URL string
	// Secret is shared with the receiver; at least MinSecretLen bytes.
	Secret []byte
	// Timeout bounds one request, response included (default 10s).
	Timeout time.Duration
	// Client sends the requests (default a client without its own
	// timeout; Timeout applies either way).
	Client *http.Client
	// Clock stamps signatures (default ports.SystemClock).
	Clock ports.Clock
	// Name labels the sink in metrics (default "webhook").
	Name string
}

// Sink POSTs event batches to a webhook.
type Sink struct {
	cfg Config
}

var _ events.Sink = (*Sink)(nil)

// New checks cfg and returns a sink.
func New(cfg Config) (*Sink, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("webhook: URL must be an absolute http or https URL")
	}
	if len(cfg.Secret) < MinSecretLen {
		return nil, fmt.Errorf("webhook: secret shorter than %d bytes", MinSecretLen)
	}
	cfg.Secret = bytes.Clone(cfg.Secret)
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Clock == nil {
		cfg.Clock = ports.SystemClock{}
	}
	if cfg.Name == "" {
		cfg.Name = "webhook"
	}
	return &Sink{cfg: cfg}, nil
}

// Name returns the configured name.
func (s *Sink) Name() string { return s.cfg.Name }

// Send POSTs the batch; any answer but 2xx is a failure, so the batch is
// sent again and the receiver must deduplicate by event id.
func (s *Sink) Send(ctx context.Context, batch []ports.Event) error {
	if len(batch) == 0 {
		return nil
	}
	body, err := json.Marshal(Batch{Events: batch})
	if err != nil {
		return fmt.Errorf("webhook: encode batch: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: build request: %w", err)
	}
	status, err := Do(s.cfg.Client, req, s.cfg.Secret, body, s.cfg.Clock.Now())
	if err != nil {
		return fmt.Errorf("webhook: post: %w", err)
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("webhook: receiver answered %d", status)
	}
	return nil
}

// Do sends req, a POST whose body is body, as JSON signed with secret at
// now (SignatureHeader), and returns the receiver's status code. A
// transport error leaves out the URL, which may carry a credential in its
// query and would end up in logs. A little of the answer's body is read,
// so that the connection can be reused; a receiver cannot make it read
// more.
func Do(client *http.Client, req *http.Request, secret, body []byte, now time.Time) (int, error) {
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(secret, body, now))
	resp, err := client.Do(req) // #nosec G704 -- the URL is the operator's (OAUTH2_EVENT_WEBHOOK_URL, OAUTH2_CIBA_WEBHOOK_URL), never one from a request or a client
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	// Draining only helps reuse the connection; the status is the answer.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, nil
}

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a SignatureHeader value against body: the MAC must match
// (ErrBadSignature, compared in constant time) and its time lie within
// tolerance of now, either way (ErrStaleSignature).
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("%w: malformed header", ErrBadSignature)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: malformed header", ErrBadSignature)
	}
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStaleSignature
	}
	return nil
}
