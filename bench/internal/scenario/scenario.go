package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"oauth2-server.dev/bench/internal/load"
	"oauth2-server.dev/bench/internal/target"
)

// need says what a scenario needs from the server before it can run.
type need uint8

const (
	needsService need = 1 << iota
	needsOpaque
	needsUser
)

// Scenario is one measured workload.
type Scenario struct {
	Name string
	// What says what one request of the scenario does.
	What    string
	needs   need
	prepare func(ctx context.Context, e *Env) (func(worker int) load.Op, error)
}

// Prepare does the scenario's untimed setup and returns the Op factory for
// the load runner.
func (s Scenario) Prepare(ctx context.Context, e *Env) (func(worker int) load.Op, error) {
	return s.prepare(ctx, e)
}

// All lists the scenarios in the order they run.
var All = []Scenario{
	{
		Name:  "client_credentials",
		What:  "POST /oauth/token, grant_type=client_credentials, client_secret_basic: client authentication, an ES256 JWT access token, its record stored",
		needs: needsService,
		prepare: func(ctx context.Context, e *Env) (func(int) load.Op, error) {
			c, err := e.serviceClient(ctx)
			if err != nil {
				return nil, err
			}
			return ClientCredentials(e.Server, c, e.Scope), nil
		},
	},
	{
		Name:  "introspect_jwt",
		What:  "POST /oauth/introspect of a JWT access token by the client it was issued to; the answer must be active",
		needs: needsService,
		prepare: func(ctx context.Context, e *Env) (func(int) load.Op, error) {
			return introspection(ctx, e, e.serviceClient)
		},
	},
	{
		Name:  "introspect_opaque",
		What:  "POST /oauth/introspect of an opaque access token (looked up by digest in the store) by its client; the answer must be active",
		needs: needsOpaque,
		prepare: func(ctx context.Context, e *Env) (func(int) load.Op, error) {
			return introspection(ctx, e, e.opaqueClient)
		},
	},
	{
		Name:    "refresh",
		What:    "POST /oauth/token, grant_type=refresh_token: each worker rotates its own chain, every response's refresh token is the next request's; returns access, refresh and ID tokens",
		needs:   needsUser,
		prepare: refresh,
	},
	{
		Name:    "authorization_code",
		What:    "POST /oauth/token, grant_type=authorization_code with a PKCE S256 verifier: redeems a code collected before the timed phase; returns access, refresh and ID tokens",
		needs:   needsUser,
		prepare: authorizationCode,
	},
	{
		Name:  "userinfo",
		What:  "GET /oauth/userinfo with the user's JWT access token (scope openid profile email)",
		needs: needsUser,
		prepare: func(ctx context.Context, e *Env) (func(int) load.Op, error) {
			if _, _, err := e.signedIn(ctx); err != nil {
				return nil, err
			}
			return send(e.Server, e.Server.GetCall(target.PathUserinfo, e.userToken), nil), nil
		},
	},
	{
		Name: "discovery",
		What: "GET /.well-known/openid-configuration",
		prepare: func(ctx context.Context, e *Env) (func(int) load.Op, error) {
			return send(e.Server, e.Server.GetCall(target.PathDiscovery, ""), nil), nil
		},
	},
	{
		Name: "jwks",
		What: "GET /.well-known/jwks.json",
		prepare: func(ctx context.Context, e *Env) (func(int) load.Op, error) {
			return send(e.Server, e.Server.GetCall(target.PathJWKS, ""), nil), nil
		},
	},
}

// Select returns the scenarios named in a comma-separated list, in their
// run order; "all" selects every one.
func Select(spec string) ([]Scenario, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(spec, ",") {
		if name = strings.TrimSpace(name); name != "" {
			want[name] = true
		}
	}
	var out []Scenario
	for _, s := range All {
		if want["all"] || want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	delete(want, "all")
	for name := range want {
		return nil, fmt.Errorf("unknown scenario %q", name)
	}
	if len(out) == 0 {
		return nil, errors.New("no scenario selected")
	}
	return out, nil
}

// ClientCredentials is the client_credentials request as c, against the
// server or the ceiling alike.
func ClientCredentials(s *target.Server, c target.Client, scope string) func(int) load.Op {
	return send(s, s.FormCall(target.PathToken, target.ClientCredentialsForm(scope), c), nil)
}

// send makes every worker send call with its own buffer, and check the
// body when check is set.
func send(s *target.Server, call target.Call, check func(body []byte) error) func(int) load.Op {
	return func(int) load.Op {
		var buf bytes.Buffer
		return func(ctx context.Context) error {
			if err := s.Send(ctx, &call, &buf); err != nil {
				return err
			}
			if check != nil {
				return check(buf.Bytes())
			}
			return nil
		}
	}
}

// introspection introspects an access token of the client that
// clientOf returns, as that client.
func introspection(ctx context.Context, e *Env, clientOf func(context.Context) (target.Client, error)) (func(int) load.Op, error) {
	c, err := clientOf(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := e.Server.Token(ctx, c, target.ClientCredentialsForm(e.Scope))
	if err != nil {
		return nil, fmt.Errorf("get a token to introspect: %w", err)
	}
	call := e.Server.FormCall(target.PathIntrospect, url.Values{"token": {tok.AccessToken}}, c)
	// RFC 7662 §2.2: an unknown or foreign token answers 200 with active
	// false, which must not pass for a success.
	active := []byte(`"active":true`)
	return send(e.Server, call, func(body []byte) error {
		if !bytes.Contains(body, active) {
			return fmt.Errorf("introspection answered an inactive token: %s", strings.TrimSpace(string(body)))
		}
		return nil
	}), nil
}

// refresh gives each worker a refresh token of its own grant, so chains
// never interfere: rotating one never revokes another.
func refresh(ctx context.Context, e *Env) (func(int) load.Op, error) {
	b, web, err := e.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	tokens, err := gather(ctx, e, "refresh (chains)", e.Concurrency, e.CodePrep, func(ctx context.Context) (string, error) {
		code, err := b.Code(ctx)
		if err != nil {
			return "", err
		}
		tok, err := e.Server.Token(ctx, web, target.CodeForm(code, RedirectURI))
		if err != nil {
			return "", err
		}
		if tok.RefreshToken == "" {
			return "", errors.New("the code exchange returned no refresh token")
		}
		return tok.RefreshToken, nil
	})
	if err != nil {
		return nil, err
	}
	return func(worker int) load.Op {
		if worker >= len(tokens) {
			return func(context.Context) error { return load.ErrDone }
		}
		rt := tokens[worker]
		var buf bytes.Buffer
		return func(ctx context.Context) error {
			call := e.Server.FormCall(target.PathToken, target.RefreshForm(rt), web)
			if err := e.Server.Send(ctx, &call, &buf); err != nil {
				// A refused refresh token stays refused (and a reused one
				// has revoked its chain): this worker is done. Transport
				// errors and 5xx leave the token as it was; try again.
				var he *target.HTTPError
				if errors.As(err, &he) && he.Status >= 400 && he.Status < 500 && he.Status != http.StatusTooManyRequests {
					return load.Stop(err)
				}
				return err
			}
			var r struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(buf.Bytes(), &r); err != nil || r.RefreshToken == "" {
				return load.Stop(errors.New("refresh response without a refresh_token"))
			}
			rt = r.RefreshToken
			return nil
		}
	}, nil
}

// authorizationCode collects codes before the timed phase; workers then
// redeem them from a shared pool until the pool or the time runs out.
// Codes live only OAUTH2_CODE_TTL (1 minute by default), so collecting
// stops after CodePrep.
func authorizationCode(ctx context.Context, e *Env) (func(int) load.Op, error) {
	b, web, err := e.signedIn(ctx)
	if err != nil {
		return nil, err
	}
	n := e.Codes
	if e.MaxRequests > 0 {
		n = int(min(int64(n), e.MaxRequests))
	}
	codes, err := gather(ctx, e, "authorization_code (codes)", n, e.CodePrep, b.Code)
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	return func(int) load.Op {
		var buf bytes.Buffer
		return func(ctx context.Context) error {
			i := next.Add(1) - 1
			if i >= int64(len(codes)) {
				return load.ErrDone
			}
			call := e.Server.FormCall(target.PathToken, target.CodeForm(codes[i], RedirectURI), web)
			return e.Server.Send(ctx, &call, &buf)
		}
	}, nil
}
