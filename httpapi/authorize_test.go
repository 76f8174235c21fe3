package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestBrowserRequest(t *testing.T) {
	tests := []struct {
		name  string
		query string
		body  string // a POST's form; "" for a GET
		want  url.Values
	}{
		{name: "query parameters of a GET are read with every copy", query: "client_id=web&state=a&state=b",
			want: url.Values{"client_id": {"web"}, "state": {"a", "b"}}},
		{name: "malformed escape in a GET is refused, not dropped", query: "state=%zz&state=b"},
		{name: "semicolon in a GET is refused, not dropped", query: "redirect_uri=https%3A%2F%2Fevil.example&redirect_uri=https%3A%2F%2Fapp.example%2Fcb;"},
		{name: "form of a POST is read and its query ignored", query: "state=q", body: "client_id=web&state=a",
			want: url.Values{"client_id": {"web"}, "state": {"a"}}},
		{name: "malformed form of a POST is refused", body: "state=%zz&state=b"},
	}
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	h := &handlers{log: slog.New(slog.DiscardHandler), pages: pages, cookies: newCookieJar(cookieKey, false)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
			if tt.body != "" {
				r = httptest.NewRequest(http.MethodPost, "/oauth/authorize", strings.NewReader(tt.body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			r.URL.RawQuery = tt.query
			rec := httptest.NewRecorder()
			params, _, ok := h.browserRequest(rec, r)
			if tt.want == nil {
				if ok || rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_request") {
					t.Fatalf("browserRequest = %v, %v (%d); want the invalid_request error page", params, ok, rec.Code)
				}
				return
			}
			if !ok || !reflect.DeepEqual(params, tt.want) {
				t.Fatalf("browserRequest = %v, %v (%d %s); want %v", params, ok, rec.Code, rec.Body, tt.want)
			}
		})
	}
}
