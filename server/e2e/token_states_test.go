package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestConcurrentCodeRedemption sends one authorization code to the token
// endpoint from many clients at the same instant: one gets tokens, the
// others invalid_grant, and since the others are replays (RFC 6749
// §4.1.2), the tokens the winner got end revoked.
func TestConcurrentCodeRedemption(t *testing.T) {
	const (
		rounds  = 6
		racers  = 12
		success = -1
	)
	forEachBackend(t, func(t *testing.T, s *testServer) {
		w := newWebApp(t, s, webClientMetadata)
		for round := range rounds {
			a := w.authorize(t, newBrowser(t, s))
			code := a.code(t, w)
			var (
				start  = make(chan struct{})
				wg     sync.WaitGroup
				mu     sync.Mutex
				won    []*oauth2.Token
				others []string
			)
			for range racers {
				wg.Go(func() {
					<-start
					tok, err := w.oauth.Exchange(context.Background(), code, oauth2.VerifierOption(a.verifier))
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						others = append(others, retrieveError(t, err).ErrorCode)
						return
					}
					won = append(won, tok)
				})
			}
			close(start)
			wg.Wait()
			if len(won) != 1 {
				t.Fatalf("round %d: %d exchanges of one code succeeded, want exactly 1; the others answered %v", round, len(won), others)
			}
			for _, code := range others {
				if code != "invalid_grant" {
					t.Fatalf("round %d: a losing exchange answered %q, want invalid_grant", round, code)
				}
			}
			tok := won[0]
			if _, m := introspect(t, s, w.client, tok.AccessToken); m["active"] != false {
				t.Fatalf("round %d: the winner's access token is still active after %d replays: %v", round, len(others), m)
			}
			if _, m := introspect(t, s, w.client, tok.RefreshToken); m["active"] != false {
				t.Fatalf("round %d: the winner's refresh token is still active after %d replays: %v", round, len(others), m)
			}
		}
	})
}

// heldTokens are the tokens a client holds, in whatever state the row of
// TestTokenStates put them.
type heldTokens struct {
	w      *webApp
	access string
	// refresh is empty when the row checks only the access token.
	refresh string
	// introspector asks about the access token: the client itself, or a
	// resource server when the client is gone.
	introspector registered
	// revoker revokes; a deleted client is refused.
	revokeStatus int
}

// TestTokenStates takes a token through every state it can reach and asks
// introspection, UserInfo and revocation about it: a token that can no
// longer be used is inactive everywhere (RFC 7662 §2.2).
func TestTokenStates(t *testing.T) {
	for _, backend := range backends(t) {
		t.Run(backend, func(t *testing.T) {
			clock := &offsetClock{}
			s := startServerWith(t, backend, map[string]string{
				"OAUTH2_ADMIN_TOKEN": adminToken, "OAUTH2_REFRESH_TOKEN_TTL": "2h",
			}, clock)
			api := s.register(t, `{"grant_types":["client_credentials"],"resource_server":true,"resource_uris":["`+s.issuer+`"]}`)
			ctx := context.Background()
			issue := func(t *testing.T) heldTokens {
				w := newWebApp(t, s, webClientMetadata)
				tok := w.exchange(t, w.authorize(t, newBrowser(t, s)))
				return heldTokens{w: w, access: tok.AccessToken, refresh: tok.RefreshToken, introspector: w.client, revokeStatus: http.StatusOK}
			}
			refresh := func(t *testing.T, w *webApp, rt string) *oauth2.Token {
				tok, err := w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				return tok
			}
			tests := []struct {
				name                    string
				reach                   func(t *testing.T) heldTokens
				accessLive, refreshLive bool
			}{
				{"freshly issued", issue, true, true},
				{"refresh token rotated", func(t *testing.T) heldTokens {
					h := issue(t)
					refresh(t, h.w, h.refresh)
					// The access token issued beside it lives on.
					return h
				}, true, false},
				{"issued by a rotation", func(t *testing.T) heldTokens {
					h := issue(t)
					tok := refresh(t, h.w, h.refresh)
					h.access, h.refresh = tok.AccessToken, tok.RefreshToken
					return h
				}, true, true},
				{"family of a replayed refresh token", func(t *testing.T) heldTokens {
					h := issue(t)
					tok := refresh(t, h.w, h.refresh)
					if _, err := h.w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: h.refresh}).Token(); err == nil {
						t.Fatal("a rotated refresh token was accepted again")
					}
					h.access, h.refresh = tok.AccessToken, tok.RefreshToken
					return h
				}, false, false},
				{"bought by a code used twice", func(t *testing.T) heldTokens {
					w := newWebApp(t, s, webClientMetadata)
					a := w.authorize(t, newBrowser(t, s))
					code := a.code(t, w)
					tok, err := w.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := w.oauth.Exchange(ctx, code, oauth2.VerifierOption(a.verifier)); err == nil {
						t.Fatal("a used code was accepted again")
					}
					return heldTokens{w: w, access: tok.AccessToken, refresh: tok.RefreshToken, introspector: w.client, revokeStatus: http.StatusOK}
				}, false, false},
				{"access token revoked", func(t *testing.T) heldTokens {
					h := issue(t)
					if code := revoke(t, s, h.w.client, h.access); code != http.StatusOK {
						t.Fatalf("revoke: %d", code)
					}
					return h
				}, false, true},
				{"refresh token revoked, with its family", func(t *testing.T) heldTokens {
					h := issue(t)
					if code := revoke(t, s, h.w.client, h.refresh); code != http.StatusOK {
						t.Fatalf("revoke: %d", code)
					}
					return h
				}, false, false},
				{"client deleted", func(t *testing.T) heldTokens {
					h := issue(t)
					req, _ := http.NewRequest(http.MethodDelete, s.issuer+"/admin/api/clients/"+h.w.client.ID, nil)
					req.Header.Set("Authorization", "Bearer "+adminToken)
					if resp, m := doJSON(t, req); resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
						t.Fatalf("delete client: %d %v", resp.StatusCode, m)
					}
					h.refresh = ""
					h.introspector = api
					h.revokeStatus = http.StatusUnauthorized
					return h
				}, false, false},
				{"user deleted", func(t *testing.T) heldTokens {
					username, password := "u"+randomHex(6), "a long enough password "+randomHex(4)
					req, _ := http.NewRequest(http.MethodPost, s.issuer+"/admin/api/users",
						strings.NewReader(`{"username":"`+username+`","password":"`+password+`"}`))
					req.Header.Set("Authorization", "Bearer "+adminToken)
					req.Header.Set("Content-Type", "application/json")
					resp, m := doJSON(t, req)
					id, _ := m["id"].(string)
					if resp.StatusCode != http.StatusCreated || id == "" {
						t.Fatalf("create user: %d %v", resp.StatusCode, m)
					}
					w := newWebApp(t, s, webClientMetadata)
					tok := w.exchange(t, w.authorizeAs(t, newBrowser(t, s), username, password, nil))
					req, _ = http.NewRequest(http.MethodDelete, s.issuer+"/admin/api/users/"+id, nil)
					req.Header.Set("Authorization", "Bearer "+adminToken)
					if resp, m := doJSON(t, req); resp.StatusCode >= 300 {
						t.Fatalf("delete user: %d %v", resp.StatusCode, m)
					}
					return heldTokens{w: w, access: tok.AccessToken, refresh: tok.RefreshToken, introspector: w.client, revokeStatus: http.StatusOK}
				}, false, false},
				// Last: the clock stays moved for the server.
				{"expired", func(t *testing.T) heldTokens {
					h := issue(t)
					clock.advance(3 * time.Hour)
					return h
				}, false, false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					h := tt.reach(t)
					if _, m := introspect(t, s, h.introspector, h.access); m["active"] != tt.accessLive {
						t.Errorf("introspection of the access token = %v, want active %v", m, tt.accessLive)
					}
					want := http.StatusUnauthorized
					if tt.accessLive {
						want = http.StatusOK
					}
					if info := userinfo(t, s, http.MethodGet, h.access); info.status != want {
						t.Errorf("userinfo with the access token: %d, want %d", info.status, want)
					}
					if h.refresh != "" {
						if _, m := introspect(t, s, h.introspector, h.refresh); m["active"] != tt.refreshLive {
							t.Errorf("introspection of the refresh token = %v, want active %v", m, tt.refreshLive)
						}
					}
					// RFC 7009 §2.2: revoking a token in any state answers
					// 200 to its client.
					if code := revoke(t, s, h.w.client, h.access); code != h.revokeStatus {
						t.Errorf("revocation: %d, want %d", code, h.revokeStatus)
					}
					if _, m := introspect(t, s, h.introspector, h.access); m["active"] != false {
						t.Errorf("after revocation the access token introspects as %v", m)
					}
				})
			}
		})
	}
}
