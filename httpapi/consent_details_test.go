package httpapi

import (
	"bytes"
	"strings"
	"testing"

	"oauth2-server.dev/core/authzdetails"
)

func TestConsentPageShowsAuthorizationDetails(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	render := func(t *testing.T, raw string) string {
		t.Helper()
		data := consentPageData{Title: "Allow access", ClientName: "Shop", RequestID: "r1", CSRF: "c", Username: "alice",
			Scopes: describeScopes([]string{"openid"})}
		if raw != "" {
			l, err := authzdetails.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			data.Details = describeDetails(l)
		}
		var buf bytes.Buffer
		if err := pages["consent"].ExecuteTemplate(&buf, "layout", data); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	payment := `[{"type":"payment_initiation","actions":["initiate"],"locations":["https://pay.example/"],"identifier":"order-7",
		"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A","items":[{"sku":"x1"}]}]`
	tests := []struct {
		name    string
		details string
		want    []string // fragments of the page
		notWant []string
	}{
		{
			name: "type, common fields and other members are shown", details: payment,
			want: []string{"<code>payment_initiation</code>", "<dt>Actions</dt>", "<li>initiate</li>", "<dt>Locations</dt>",
				"<li>https://pay.example/</li>", "<dt>Identifier</dt><dd>order-7</dd>",
				"<dt>instructedAmount.amount</dt><dd>123.50</dd>", "<dt>instructedAmount.currency</dt><dd>EUR</dd>",
				"<dt>creditorName</dt><dd>Merchant A</dd>", "Allow approves all of the above",
				`name="decision" value="allow"`, `name="decision" value="deny"`},
		},
		{
			name: "a structure that cannot be spelled out is shown as formatted JSON", details: payment,
			want: []string{"<dt>items</dt><dd><pre>[\n  {\n    &#34;sku&#34;: &#34;x1&#34;\n  }\n]</pre></dd>", "Show as JSON"},
		},
		{
			name:    "markup in a value is escaped",
			details: `[{"type":"payment_initiation","creditorName":"<script>alert(1)</script>","<b>k</b>":"v"}]`,
			want:    []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;k&lt;/b&gt;"},
			notWant: []string{"<script>", "<b>k</b>"},
		},
		{
			name:    "a right-to-left override is spelled out",
			details: "[{\"type\":\"payment_initiation\",\"creditorName\":\"Shop \u202e001\"}]",
			want:    []string{`Shop \u202E001`},
			notWant: []string{"\u202e"},
		},
		{
			name: "a request without details shows only its scopes", details: "",
			notWant: []string{`class="detail"`, "for this request only"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, tt.details)
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q:\n%s", w, page)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(page, nw) {
					t.Errorf("page contains %q", nw)
				}
			}
		})
	}
}
