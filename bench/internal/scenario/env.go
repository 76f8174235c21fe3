package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"oauth2-server.dev/bench/internal/load"
	"oauth2-server.dev/bench/internal/target"
)

// RedirectURI is the web client's redirect URI. Nothing listens there: the
// browser stops at the redirect and reads the code from its Location.
const RedirectURI = "http://127.0.0.1:1/cb"

// WebScope is what the web client asks for: openid makes the code and
// refresh exchanges sign an ID token too, and userinfo needs it.
const WebScope = "openid profile email"

// Env is what scenarios share: where the server is, how to get in, and the
// clients registered so far.
type Env struct {
	Server            *target.Server
	RegistrationToken string
	Username          string
	Password          string
	// Scope is registered for and requested by the client_credentials
	// clients.
	Scope string
	// IDTokenAlg is the web client's id_token_signed_response_alg; the
	// server's default (RS256) when empty.
	IDTokenAlg  string
	Concurrency int
	MaxRequests int64
	// Codes caps the authorization codes prepared for the
	// authorization_code scenario; CodePrep caps the time spent on them.
	Codes    int
	CodePrep time.Duration
	// Log receives setup messages; Progress and Live go to the load runner
	// when codes and tokens are prepared.
	Log      io.Writer
	Progress io.Writer
	Live     bool

	service, opaque, web *target.Client
	browser              *target.Browser
	userToken            string
}

// Setup registers the clients the scenarios need and signs the user in,
// so that a wrong token or password fails the run before any timing.
func (e *Env) Setup(ctx context.Context, scenarios []Scenario) error {
	for _, s := range scenarios {
		if s.needs&needsService != 0 {
			if _, err := e.serviceClient(ctx); err != nil {
				return err
			}
		}
		if s.needs&needsOpaque != 0 {
			if _, err := e.opaqueClient(ctx); err != nil {
				return err
			}
		}
		if s.needs&needsUser != 0 {
			if _, _, err := e.signedIn(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Env) register(ctx context.Context, what string, metadata map[string]any) (*target.Client, error) {
	if e.RegistrationToken == "" {
		return nil, errors.New("a registration token is needed to register the benchmark's clients (-registration-token or OAUTH2_REGISTRATION_TOKEN)")
	}
	c, err := e.Server.Register(ctx, e.RegistrationToken, metadata)
	if err != nil {
		return nil, fmt.Errorf("%s client: %w", what, err)
	}
	fmt.Fprintf(e.Log, "registered the %s client %s\n", what, c.ID)
	return &c, nil
}

// serviceClient is a confidential client_credentials client with JWT
// access tokens.
func (e *Env) serviceClient(ctx context.Context) (target.Client, error) {
	if e.service == nil {
		c, err := e.register(ctx, "client_credentials", map[string]any{
			"client_name": "bench client_credentials", "grant_types": []string{"client_credentials"}, "scope": e.Scope,
		})
		if err != nil {
			return target.Client{}, err
		}
		e.service = c
	}
	return *e.service, nil
}

// opaqueClient is like serviceClient with opaque access tokens.
func (e *Env) opaqueClient(ctx context.Context) (target.Client, error) {
	if e.opaque == nil {
		c, err := e.register(ctx, "opaque-token", map[string]any{
			"client_name": "bench opaque", "grant_types": []string{"client_credentials"}, "scope": e.Scope,
			"access_token_format": "opaque",
		})
		if err != nil {
			return target.Client{}, err
		}
		e.opaque = c
	}
	return *e.opaque, nil
}

// webClient is a confidential web application using the authorization
// code and refresh token grants. Its scope is left to the server's
// default, so a server with a scope allow-list still accepts it.
func (e *Env) webClient(ctx context.Context) (target.Client, error) {
	if e.web == nil {
		metadata := map[string]any{
			"client_name":                "bench web",
			"redirect_uris":              []string{RedirectURI},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"response_types":             []string{"code"},
			"token_endpoint_auth_method": "client_secret_basic",
		}
		if e.IDTokenAlg != "" {
			metadata["id_token_signed_response_alg"] = e.IDTokenAlg
		}
		c, err := e.register(ctx, "web", metadata)
		if err != nil {
			return target.Client{}, err
		}
		e.web = c
	}
	return *e.web, nil
}

// signedIn returns a browser signed in as the user, with consent given to
// the web client, and that client. The code of that first authorization is
// redeemed at once: it proves the exchange works and gives the userinfo
// token.
func (e *Env) signedIn(ctx context.Context) (*target.Browser, target.Client, error) {
	if e.browser == nil && (e.Username == "" || e.Password == "") {
		return nil, target.Client{}, errors.New("a user is needed for the browser flows (-username and -password, or OAUTH2_SEED_USERNAME and OAUTH2_SEED_PASSWORD)")
	}
	web, err := e.webClient(ctx)
	if err != nil {
		return nil, target.Client{}, err
	}
	if e.browser != nil {
		return e.browser, web, nil
	}
	b, code, err := e.Server.SignIn(ctx, target.AuthParams{Client: web, RedirectURI: RedirectURI, Scope: WebScope}, e.Username, e.Password)
	if err != nil {
		return nil, target.Client{}, fmt.Errorf("sign in as %s: %w", e.Username, err)
	}
	tok, err := e.Server.Token(ctx, web, target.CodeForm(code, RedirectURI))
	if err != nil {
		return nil, target.Client{}, fmt.Errorf("redeem the first authorization code: %w", err)
	}
	fmt.Fprintf(e.Log, "signed in as %s and consented to the web client\n", e.Username)
	e.browser, e.userToken = b, tok.AccessToken
	return b, web, nil
}

// gather runs produce concurrently until n values are made or the time
// budget is spent, and returns what it made. It fails only when nothing
// was made; partial failures are logged.
func gather[T any](ctx context.Context, e *Env, name string, n int, budget time.Duration, produce func(ctx context.Context) (T, error)) ([]T, error) {
	c := min(e.Concurrency, n)
	made := make([][]T, c)
	res := load.Run(ctx, load.Options{
		Name: name, Concurrency: c, Duration: budget, MaxRequests: int64(n), Progress: e.Progress, Live: e.Live,
	}, func(worker int) load.Op {
		return func(ctx context.Context) error {
			v, err := produce(ctx)
			if err != nil {
				return err
			}
			made[worker] = append(made[worker], v)
			return nil
		}
	})
	var out []T
	for _, m := range made {
		out = append(out, m...)
	}
	if len(out) == 0 {
		if res.FirstError != "" {
			return nil, fmt.Errorf("%s: %s", name, res.FirstError)
		}
		return nil, fmt.Errorf("%s: nothing prepared", name)
	}
	if res.Errors > 0 {
		fmt.Fprintf(e.Log, "%s: %d of %d failed; the first: %s\n", name, res.Errors, res.Errors+uint64(len(out)), res.FirstError)
	}
	return out, nil
}
