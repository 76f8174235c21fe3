package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const adminToken = "admin-token-0123456789abcdef0123"

// adminPage opens /admin in b and fails unless it shows the dashboard.
func adminPage(t *testing.T, b *browser) page {
	t.Helper()
	p := b.get(b.s.issuer + "/admin")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Signing keys") {
		t.Fatalf("expected the admin dashboard, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return p
}

// adminSignIn fills the admin sign-in form with token.
func adminSignIn(t *testing.T, b *browser, token string) page {
	t.Helper()
	p := b.get(b.s.issuer + "/admin")
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="token"`) {
		t.Fatalf("expected the admin sign-in form, got %d:\n%s", p.status, p.body)
	}
	form := p.hidden()
	form.Set("token", token)
	return b.post(b.s.issuer+"/admin/login", form)
}

func jwksKids(t *testing.T, s *testServer) []string {
	t.Helper()
	_, m := doJSON(t, mustRequest(t, s.issuer+"/.well-known/jwks.json"))
	var kids []string
	for _, k := range m["keys"].([]any) {
		kids = append(kids, k.(map[string]any)["kid"].(string))
	}
	return kids
}

func TestAdminUI(t *testing.T) {
	forEachBackendWith(t, map[string]string{"OAUTH2_ADMIN_TOKEN": adminToken}, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		c := s.register(t, `{"client_name":"Orders service","grant_types":["client_credentials"]}`)
		cc := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
		if _, err := cc.Token(ctx); err != nil {
			t.Fatalf("the client cannot get a token before the test: %v", err)
		}
		b := newBrowser(t, s)

		t.Run("a wrong token is refused and the form is shown again", func(t *testing.T) {
			p := adminSignIn(t, b, "not-the-admin-token")
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "That is not the admin token.") || !strings.Contains(p.body, `name="token"`) {
				t.Fatalf("got %d:\n%s", p.status, p.body)
			}
			if p := b.get(s.issuer + "/admin"); strings.Contains(p.body, "Signing keys") {
				t.Fatal("a wrong token signed the operator in")
			}
		})
		t.Run("the admin token shows the clients and the signing keys", func(t *testing.T) {
			p := adminSignIn(t, b, adminToken)
			if p.url.Path != "/admin" || !strings.Contains(p.body, "Signing keys") {
				t.Fatalf("after sign-in: %d %s:\n%s", p.status, p.url, p.body)
			}
			for _, want := range append([]string{"Orders service", c.ID, "client_credentials"}, jwksKids(t, s)...) {
				if !strings.Contains(p.body, want) {
					t.Errorf("the dashboard does not show %q", want)
				}
			}
		})
		t.Run("a form without its CSRF token changes nothing", func(t *testing.T) {
			p := b.post(s.issuer+"/admin/clients/"+c.ID+"/delete", url.Values{"confirm": {"yes"}})
			if p.status != http.StatusForbidden {
				t.Fatalf("got %d:\n%s", p.status, p.body)
			}
			if !strings.Contains(adminPage(t, b).body, c.ID) {
				t.Fatal("the client was deleted without a CSRF token")
			}
		})
		t.Run("rotating publishes new keys", func(t *testing.T) {
			before := jwksKids(t, s)
			p := b.post(s.issuer+"/admin/keys/rotate", adminPage(t, b).hidden())
			if !strings.Contains(p.body, "New signing keys are published") {
				t.Fatalf("after rotating: %d:\n%s", p.status, p.body)
			}
			after := jwksKids(t, s)
			if len(after) <= len(before) {
				t.Fatalf("JWKS has %d keys after the rotation, %d before", len(after), len(before))
			}
			for _, kid := range after {
				if !strings.Contains(p.body, kid) {
					t.Errorf("the dashboard does not show the key %s", kid)
				}
			}
		})
		t.Run("deleting a client asks first", func(t *testing.T) {
			p := b.post(s.issuer+"/admin/clients/"+c.ID+"/delete", adminPage(t, b).hidden())
			if p.status != http.StatusOK || !strings.Contains(p.body, "Delete Orders service?") || p.hidden().Get("confirm") != "yes" {
				t.Fatalf("got %d:\n%s", p.status, p.body)
			}
			if _, err := cc.Token(ctx); err != nil {
				t.Fatalf("the client was deleted before the operator confirmed: %v", err)
			}
		})
		t.Run("a confirmed deletion ends the client's credentials", func(t *testing.T) {
			confirm := b.post(s.issuer+"/admin/clients/"+c.ID+"/delete", adminPage(t, b).hidden())
			p := b.post(s.issuer+"/admin/clients/"+c.ID+"/delete", confirm.hidden())
			if !strings.Contains(p.body, "The client is deleted and its tokens are revoked.") || strings.Contains(p.body, c.ID) {
				t.Fatalf("after deleting: %d:\n%s", p.status, p.body)
			}
			_, err := cc.Token(ctx)
			if err == nil {
				t.Fatal("the deleted client still gets tokens")
			}
			if re := retrieveError(t, err); re.ErrorCode != "invalid_client" {
				t.Fatalf("the deleted client's credentials: %v, want invalid_client", err)
			}
		})
		t.Run("after signing out the forms do nothing", func(t *testing.T) {
			other := s.register(t, `{"client_name":"Billing","grant_types":["client_credentials"]}`)
			form := adminPage(t, b).hidden()
			if p := b.post(s.issuer+"/admin/logout", form); !strings.Contains(p.body, `name="token"`) {
				t.Fatalf("after signing out: %d:\n%s", p.status, p.body)
			}
			form.Set("confirm", "yes")
			p := b.post(s.issuer+"/admin/clients/"+other.ID+"/delete", form)
			if !strings.Contains(p.body, `name="token"`) {
				t.Fatalf("a delete after signing out: %d:\n%s", p.status, p.body)
			}
			if _, err := (&clientcredentials.Config{ClientID: other.ID, ClientSecret: other.Secret, TokenURL: s.issuer + "/oauth/token"}).Token(ctx); err != nil {
				t.Fatalf("the client was deleted after signing out: %v", err)
			}
		})
	})
	t.Run("without an admin token there is no admin UI", func(t *testing.T) {
		s := startServer(t, "sqlite", nil)
		p := newBrowser(t, s).get(s.issuer + "/admin")
		if p.status != http.StatusNotFound || !strings.Contains(p.body, "OAUTH2_ADMIN_TOKEN") {
			t.Fatalf("got %d:\n%s", p.status, p.body)
		}
	})
}

func TestAdminClientsAPI(t *testing.T) {
	s := startServer(t, "sqlite", map[string]string{"OAUTH2_ADMIN_TOKEN": adminToken})
	c := s.register(t, `{"client_name":"Orders service","grant_types":["client_credentials"],"scope":"orders:read"}`)
	call := func(method, path, token string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(method, s.issuer+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return doJSON(t, req)
	}
	t.Run("the list holds the client and no secret", func(t *testing.T) {
		resp, m := call(http.MethodGet, "/admin/api/clients", adminToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
		list := m["clients"].([]any)
		if len(list) != 1 {
			t.Fatalf("clients = %v", list)
		}
		got := list[0].(map[string]any)
		if got["client_id"] != c.ID || got["client_name"] != "Orders service" || got["scope"] != "orders:read" || got["token_endpoint_auth_method"] != "client_secret_basic" {
			t.Fatalf("client = %v", got)
		}
		for k := range got {
			if strings.Contains(k, "secret") && k != "token_endpoint_auth_method" {
				t.Errorf("the admin API shows %s", k)
			}
		}
	})
	t.Run("one client by id", func(t *testing.T) {
		if resp, m := call(http.MethodGet, "/admin/api/clients/"+c.ID, adminToken); resp.StatusCode != http.StatusOK || m["client_id"] != c.ID {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
		if resp, m := call(http.MethodGet, "/admin/api/clients/no-such-client", adminToken); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
	})
	t.Run("without the admin token nothing is shown or deleted", func(t *testing.T) {
		if resp, _ := call(http.MethodGet, "/admin/api/clients", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("list without a token: %d", resp.StatusCode)
		}
		if resp, _ := call(http.MethodDelete, "/admin/api/clients/"+c.ID, "wrong"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("delete with a wrong token: %d", resp.StatusCode)
		}
	})
	t.Run("delete, then the client is gone", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, s.issuer+"/admin/api/clients/"+c.ID, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp, m := call(http.MethodDelete, "/admin/api/clients/"+c.ID, adminToken); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("second delete: %d %v", resp.StatusCode, m)
		}
		if _, err := (&clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: s.issuer + "/oauth/token"}).Token(context.Background()); err == nil {
			t.Fatal("the deleted client still gets tokens")
		}
	})
}

// signsIn reports whether username and password sign a new browser in.
func signsIn(t *testing.T, s *testServer, username, password string) bool {
	t.Helper()
	b := newBrowser(t, s)
	p := b.get(s.issuer + "/account")
	form := p.hidden()
	form.Set("username", username)
	form.Set("password", password)
	p = b.post(s.issuer+"/login", form)
	return p.url.Path == "/account" && strings.Contains(p.body, "Signed in as <strong>"+username+"</strong>")
}

func TestAdminUsers(t *testing.T) {
	forEachBackendWith(t, map[string]string{"OAUTH2_ADMIN_TOKEN": adminToken}, func(t *testing.T, s *testServer) {
		api := func(method, path, body string) (*http.Response, map[string]any) {
			req, _ := http.NewRequest(method, s.issuer+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			return doJSON(t, req)
		}
		var amy string
		t.Run("a user the API adds signs in", func(t *testing.T) {
			resp, m := api(http.MethodPost, "/admin/api/users", `{"username":"amy","password":"amy-password-1","name":"Amy Pond","email":"amy@example.com"}`)
			if resp.StatusCode != http.StatusCreated || m["username"] != "amy" || m["password"] != nil || m["password_hash"] != nil {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
			amy, _ = m["id"].(string)
			if !signsIn(t, s, "amy", "amy-password-1") {
				t.Fatal("amy cannot sign in")
			}
		})
		t.Run("bad users are refused with the reason", func(t *testing.T) {
			for body, want := range map[string]string{
				`{"username":"amy","password":"another-password-2"}`: "the username is taken",
				`{"username":"bob","password":"short"}`:              "at least 12 characters",
				`{"username":"","password":"another-password-2"}`:    "the username is required",
				`not json`: "JSON object",
			} {
				resp, m := api(http.MethodPost, "/admin/api/users", body)
				if resp.StatusCode/100 != 4 || !strings.Contains(m["error_description"].(string), want) {
					t.Errorf("%s: %d %v, want %q", body, resp.StatusCode, m, want)
				}
			}
		})
		t.Run("a new password replaces the old one", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, s.issuer+"/admin/api/users/"+amy+"/password", strings.NewReader(`{"password":"amy-password-2"}`))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("set password: %d", resp.StatusCode)
			}
			if signsIn(t, s, "amy", "amy-password-1") || !signsIn(t, s, "amy", "amy-password-2") {
				t.Fatal("the old password still works, or the new one does not")
			}
			if resp, _ := api(http.MethodPut, "/admin/api/users/nobody/password", `{"password":"amy-password-3"}`); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("an unknown user: %d", resp.StatusCode)
			}
		})
		t.Run("the list shows the users without their hashes", func(t *testing.T) {
			resp, m := api(http.MethodGet, "/admin/api/users", "")
			users, _ := m["users"].([]any)
			if resp.StatusCode != http.StatusOK || len(users) < 2 {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
			names := []string{}
			for _, u := range users {
				names = append(names, u.(map[string]any)["username"].(string))
				if u.(map[string]any)["password_hash"] != nil {
					t.Error("the list shows a password hash")
				}
			}
			if !slices.IsSorted(names) || !slices.Contains(names, "amy") || !slices.Contains(names, testUser) {
				t.Fatalf("users = %v", names)
			}
		})
		t.Run("the admin UI adds a user and sets a password", func(t *testing.T) {
			b := newBrowser(t, s)
			adminSignIn(t, b, adminToken)
			form := adminPage(t, b).hidden()
			form.Set("username", "carol")
			form.Set("password", "short")
			if p := b.post(s.issuer+"/admin/users", form); p.status != http.StatusBadRequest || !strings.Contains(p.body, "The user was not added: the password must have at least 12 characters.") {
				t.Fatalf("a short password: %d:\n%s", p.status, p.body)
			}
			form.Set("password", "carol-password-1")
			p := b.post(s.issuer+"/admin/users", form)
			if !strings.Contains(p.body, "The user is added and can sign in.") || !strings.Contains(p.body, "<strong>carol</strong>") {
				t.Fatalf("after adding: %d:\n%s", p.status, p.body)
			}
			if !signsIn(t, s, "carol", "carol-password-1") {
				t.Fatal("carol cannot sign in")
			}
			form = url.Values{"csrf_token": {adminPage(t, b).hidden().Get("csrf_token")}, "password": {"carol-password-2"}}
			p = b.post(s.issuer+"/admin/users/"+userID(t, p.body, "carol")+"/password", form)
			if !strings.Contains(p.body, "The password is changed") {
				t.Fatalf("after setting the password: %d:\n%s", p.status, p.body)
			}
			if !signsIn(t, s, "carol", "carol-password-2") {
				t.Fatal("carol cannot sign in with the new password")
			}
		})
	})
}

func TestAdminDeletesUsers(t *testing.T) {
	forEachBackendWith(t, map[string]string{"OAUTH2_ADMIN_TOKEN": adminToken}, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		w := newWebApp(t, s, webClientMetadata)
		b := newBrowser(t, s)
		tok := w.exchange(t, w.authorize(t, b))
		if p := b.get(s.issuer + "/account"); !strings.Contains(p.body, "Test Web App") {
			t.Fatalf("before the deletion the account page shows: %d %s", p.status, p.body)
		}
		admin := newBrowser(t, s)
		adminSignIn(t, admin, adminToken)
		id := userID(t, adminPage(t, admin).body, testUser)

		t.Run("the UI asks first", func(t *testing.T) {
			p := admin.post(s.issuer+"/admin/users/"+id+"/delete", adminPage(t, admin).hidden())
			if p.status != http.StatusOK || !strings.Contains(p.body, "Delete "+testUser+"?") || p.hidden().Get("confirm") != "yes" {
				t.Fatalf("got %d:\n%s", p.status, p.body)
			}
			if !signsIn(t, s, testUser, testPassword) {
				t.Fatal("the user was deleted before the operator confirmed")
			}
		})
		t.Run("a confirmed deletion ends everything the user had", func(t *testing.T) {
			confirm := admin.post(s.issuer+"/admin/users/"+id+"/delete", adminPage(t, admin).hidden())
			p := admin.post(s.issuer+"/admin/users/"+id+"/delete", confirm.hidden())
			if !strings.Contains(p.body, "The user is deleted") || strings.Contains(p.body, "<strong>"+testUser+"</strong>") {
				t.Fatalf("after deleting: %d:\n%s", p.status, p.body)
			}
			if signsIn(t, s, testUser, testPassword) {
				t.Fatal("the deleted user still signs in")
			}
			if p := b.get(s.issuer + "/account"); !p.isLogin() {
				t.Fatalf("the deleted user's session still works: %d %s", p.status, p.url)
			}
			if status, m := introspect(t, s, w.client, tok.AccessToken); status != 200 || m["active"] != false {
				t.Fatalf("the deleted user's access token: %d %v", status, m)
			}
			_, err := w.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err == nil || retrieveError(t, err).ErrorCode != "invalid_grant" {
				t.Fatalf("the deleted user's refresh token: %v, want invalid_grant", err)
			}
		})
		t.Run("the API answers 404 for a user who is gone", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodDelete, s.issuer+"/admin/api/users/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			if resp, m := doJSON(t, req); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
		})
	})
}

// userID finds the user's id in the set-password form of the dashboard.
func userID(t *testing.T, body, username string) string {
	t.Helper()
	m := regexp.MustCompile(`action="/admin/users/([^/"]+)/password"[^>]*>\s*<input type="hidden"[^>]*>\s*<input[^>]*aria-label="New password for ` + regexp.QuoteMeta(username) + `"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no password form for %s on the dashboard", username)
	}
	return m[1]
}

func TestAdminListsPage(t *testing.T) {
	s := startServer(t, "sqlite", map[string]string{"OAUTH2_ADMIN_TOKEN": adminToken, "OAUTH2_RATE_LIMIT_REGISTRATION": "1000/s:1000"})
	var ids []string
	for i := range 53 {
		ids = append(ids, s.register(t, fmt.Sprintf(`{"client_name":"Service %d","grant_types":["client_credentials"]}`, i)).ID)
	}
	slices.Sort(ids)
	get := func(path string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, s.issuer+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		return doJSON(t, req)
	}
	t.Run("the API lists the clients page by page, each once", func(t *testing.T) {
		var got []string
		for path, pages := "/admin/api/clients?limit=20", 0; path != ""; pages++ {
			resp, m := get(path)
			list, _ := m["clients"].([]any)
			if resp.StatusCode != http.StatusOK || len(list) == 0 || len(list) > 20 || pages > 3 {
				t.Fatalf("GET %s: %d %v", path, resp.StatusCode, m)
			}
			for _, c := range list {
				got = append(got, c.(map[string]any)["client_id"].(string))
			}
			path = ""
			if next, ok := m["next"].(string); ok {
				path = "/admin/api/clients?limit=20&after=" + url.QueryEscape(next)
			}
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("the pages held %d clients, want the %d registered, in order", len(got), len(ids))
		}
	})
	t.Run("without a limit a hundred come, with no next page here", func(t *testing.T) {
		resp, m := get("/admin/api/clients")
		if list, _ := m["clients"].([]any); resp.StatusCode != http.StatusOK || len(list) != len(ids) || m["next"] != nil {
			t.Fatalf("%d: %d clients, next %v", resp.StatusCode, len(list), m["next"])
		}
	})
	t.Run("the users list pages by username", func(t *testing.T) {
		for _, name := range []string{"zed", "Abe"} {
			req, _ := http.NewRequest(http.MethodPost, s.issuer+"/admin/api/users", strings.NewReader(`{"username":"`+name+`","password":"a-long-password-1"}`))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			if resp, m := doJSON(t, req); resp.StatusCode != http.StatusCreated {
				t.Fatalf("add %s: %d %v", name, resp.StatusCode, m)
			}
		}
		var got []string
		for path := "/admin/api/users?limit=1"; path != ""; {
			resp, m := get(path)
			list, _ := m["users"].([]any)
			if resp.StatusCode != http.StatusOK || len(list) != 1 || len(got) > 3 {
				t.Fatalf("GET %s: %d %v", path, resp.StatusCode, m)
			}
			got = append(got, list[0].(map[string]any)["username"].(string))
			path = ""
			if next, ok := m["next"].(string); ok {
				path = "/admin/api/users?limit=1&after=" + url.QueryEscape(next)
			}
		}
		if want := []string{"Abe", testUser, "zed"}; !slices.Equal(got, want) {
			t.Fatalf("users page by page = %v, want %v", got, want)
		}
	})
	for _, limit := range []string{"0", "1001", "ten", "-5"} {
		t.Run("a limit of "+limit+" is refused with the range", func(t *testing.T) {
			resp, m := get("/admin/api/clients?limit=" + limit)
			if resp.StatusCode != http.StatusBadRequest || m["error"] != "invalid_request" || !strings.Contains(m["error_description"].(string), "from 1 to 1000") {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
		})
	}
	t.Run("the admin UI shows fifty clients and links to the rest", func(t *testing.T) {
		b := newBrowser(t, s)
		p := adminSignIn(t, b, adminToken)
		if !strings.Contains(p.body, "(50 on this page)") || !strings.Contains(p.body, ids[49]) || strings.Contains(p.body, ids[50]) {
			t.Fatalf("the first page:\n%s", p.body)
		}
		next := regexp.MustCompile(`href="([^"]+)">Next clients`).FindStringSubmatch(p.body)
		if next == nil {
			t.Fatalf("no link to the next clients:\n%s", p.body)
		}
		p = b.get(s.issuer + unescapeHTML(next[1]))
		if !strings.Contains(p.body, ids[50]) || !strings.Contains(p.body, ids[52]) || strings.Contains(p.body, ids[49]) || !strings.Contains(p.body, "First clients") || strings.Contains(p.body, "Next clients") {
			t.Fatalf("the second page (%s):\n%s", next[1], p.body)
		}
	})
}
