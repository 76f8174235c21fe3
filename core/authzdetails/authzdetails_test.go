package authzdetails

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const payment = `[{"type":"payment_initiation","actions":["initiate","status"],"locations":["https://pay.example/"],
	"instructedAmount":{"currency":"EUR","amount":"123.50"},"creditorName":"Merchant A"}]`

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Detail
	}{
		{
			name: "type alone",
			raw:  `[{"type":"account_information"}]`,
			want: Detail{Type: "account_information"},
		},
		{
			name: "every common field",
			raw: `[{"type":"t","locations":["https://a.example/"],"actions":["read","write"],"datatypes":["balance"],
				"identifier":"acc-1","privileges":["admin"]}]`,
			want: Detail{Type: "t", Locations: []string{"https://a.example/"}, Actions: []string{"read", "write"},
				Datatypes: []string{"balance"}, Identifier: "acc-1", Privileges: []string{"admin"}},
		},
		{
			name: "type-specific members of any JSON type",
			raw:  `[{"type":"t","amount":12.5,"recurring":false,"note":null,"nested":{"a":[1,{"b":2}]}}]`,
			want: Detail{Type: "t"},
		},
		{
			name: "whitespace around the value",
			raw:  " \n[ {\"type\" : \"t\"} ]\t",
			want: Detail{Type: "t"},
		},
		{
			name: "a type that is a URI",
			raw:  `[{"type":"https://scheme.example.com/payment"}]`,
			want: Detail{Type: "https://scheme.example.com/payment"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(l) != 1 {
				t.Fatalf("got %d objects", len(l))
			}
			got := l[0]
			got.members = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	deep := `[{"type":"t","x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}]`
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"type":"t"},`, MaxEntries+1), ",") + "]"
	tests := []struct {
		name string
		raw  string
		want string // part of the error text
	}{
		{"an empty value", ``, "not valid JSON"},
		{"malformed JSON", `[{"type":"t"`, "not valid JSON"},
		{"a missing comma", `[{"type":"t"} {"type":"u"}]`, "not valid JSON"},
		{"a trailing comma", `[{"type":"t"},]`, "not valid JSON"},
		{"a single object instead of an array", `{"type":"t"}`, "must be a JSON array of objects"},
		{"a string", `"payment"`, "must be a JSON array of objects"},
		{"an empty array", `[]`, "at least one object"},
		{"an array of strings", `["payment"]`, "authorization_details[0] must be a JSON object"},
		{"a second value", `[{"type":"t"}][{"type":"u"}]`, "data after the array"},
		{"trailing garbage", `[{"type":"t"}] x`, "data after the array"},
		{"a missing type", `[{"actions":["read"]}]`, "authorization_details[0].type is missing"},
		{"a numeric type", `[{"type":7}]`, "type must be a non-empty string"},
		{"an empty type", `[{"type":""}]`, "type must be a non-empty string"},
		{"a null type", `[{"type":null}]`, "type must be a non-empty string"},
		{"an overlong type", `[{"type":"` + strings.Repeat("t", MaxTypeLength+1) + `"}]`, "longer than 256 bytes"},
		{"actions as a string", `[{"type":"t"},{"type":"t","actions":"read"}]`, "authorization_details[1].actions must be a non-empty array of strings"},
		{"locations with a number", `[{"type":"t","locations":["https://a.example/",3]}]`, "locations must be a non-empty array of strings"},
		{"empty datatypes", `[{"type":"t","datatypes":[]}]`, "datatypes must be a non-empty array of strings"},
		{"privileges as an object", `[{"type":"t","privileges":{"a":1}}]`, "privileges must be a non-empty array of strings"},
		{"a numeric identifier", `[{"type":"t","identifier":42}]`, "identifier must be a string"},
		{"a repeated member", `[{"type":"t","type":"u"}]`, `repeats the member name "type"`},
		{"a repeated nested member", `[{"type":"t","amount":{"v":1,"v":2}}]`, `repeats the member name "v"`},
		{"nesting past the limit", deep, "deeper than 8 levels"},
		{"too many objects", many, "more than 16 objects"},
		{"an oversized value", `[{"type":"t","pad":"` + strings.Repeat("x", MaxBytes) + `"}]`, "larger than 8192 bytes"},
		{"invalid UTF-8", "[{\"type\":\"t\xff\"}]", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.raw)
			if err == nil {
				t.Fatalf("accepted: %v", l.JSON())
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "authorization_details") {
				t.Fatalf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
	t.Run("a long repeated member name is cut short in the error", func(t *testing.T) {
		name := strings.Repeat("n", 500)
		_, err := Parse(`[{"type":"t","` + name + `":1,"` + name + `":2}]`)
		if err == nil || len(err.Error()) > 200 {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("nesting at the limit is accepted", func(t *testing.T) {
		atLimit := `[{"type":"t","x":` + strings.Repeat("[", MaxDepth-2) + strings.Repeat("]", MaxDepth-2) + `}]`
		if _, err := Parse(atLimit); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCanonicalForm(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"members sorted at every level", `[{"type":"t","z":1,"a":{"y":true,"b":null}}]`, `[{"a":{"b":null,"y":true},"type":"t","z":1}]`},
		{"numbers keep their text", `[{"type":"t","amount":100.10,"big":123456789012345678901234567890}]`, `[{"amount":100.10,"big":123456789012345678901234567890,"type":"t"}]`},
		{"markup is not escaped", `[{"type":"t","note":"<b>&</b>"}]`, `[{"note":"<b>&</b>","type":"t"}]`},
		{"escapes are resolved", `[{"type":"\u0074","p":"\/"}]`, `[{"p":"/","type":"t"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.JSON(); got != tt.want {
				t.Fatalf("JSON() = %s, want %s", got, tt.want)
			}
			again, err := Decode(l.JSON())
			if err != nil || again.JSON() != l.JSON() {
				t.Fatalf("the canonical form does not read back: %v %s", err, again.JSON())
			}
		})
	}
	t.Run("an empty list has no form", func(t *testing.T) {
		if got := List(nil).JSON(); got != "" {
			t.Fatalf("JSON() = %q", got)
		}
	})
}

func TestCovers(t *testing.T) {
	tests := []struct {
		name          string
		granted, want string
		covered       bool
	}{
		{"the same list", payment, payment, true},
		{"the same list in another order of members", `[{"b":1,"type":"t","a":2}]`, `[{"a":2,"type":"t","b":1}]`, true},
		{"fewer actions", `[{"type":"t","actions":["read","write"]}]`, `[{"type":"t","actions":["read"]}]`, true},
		{"fewer locations", `[{"type":"t","locations":["https://a/","https://b/"]}]`, `[{"type":"t","locations":["https://b/"]}]`, true},
		{"one object of several", `[{"type":"t"},{"type":"u","actions":["x"]}]`, `[{"type":"u","actions":["x"]}]`, true},
		{"narrowing two objects from one", `[{"type":"t","actions":["r","w"]}]`, `[{"type":"t","actions":["r"]},{"type":"t","actions":["w"]}]`, true},
		{"another type", `[{"type":"t"}]`, `[{"type":"u"}]`, false},
		{"more actions", `[{"type":"t","actions":["read"]}]`, `[{"type":"t","actions":["read","write"]}]`, false},
		{"an action left out as a member", `[{"type":"t","actions":["read"]}]`, `[{"type":"t"}]`, false},
		{"a common field the grant lacks", `[{"type":"t"}]`, `[{"type":"t","actions":["read"]}]`, false},
		{"another identifier", `[{"type":"t","identifier":"a"}]`, `[{"type":"t","identifier":"b"}]`, false},
		{"another amount", `[{"type":"t","amount":{"v":"10"}}]`, `[{"type":"t","amount":{"v":"11"}}]`, false},
		{"the same number written otherwise", `[{"type":"t","n":1}]`, `[{"type":"t","n":1.0}]`, false},
		{"an extra member", `[{"type":"t"}]`, `[{"type":"t","x":1}]`, false},
		{"one covered and one not", `[{"type":"t"}]`, `[{"type":"t"},{"type":"u"}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse(tt.granted)
			if err != nil {
				t.Fatal(err)
			}
			w, err := Parse(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Covers(w); got != tt.covered {
				t.Fatalf("Covers = %v, want %v", got, tt.covered)
			}
		})
	}
}

func TestFields(t *testing.T) {
	l, err := Parse(`[{"type":"t","actions":["a"],"identifier":"i","creditorName":"Merchant A",
		"instructedAmount":{"currency":"EUR","amount":"123.50"},"days":[1,2,3],"empty":{},"recurring":true,"note":null,
		"items":[{"sku":"x"}],"deep":{"a":{"b":{"c":{"d":1}}}}}]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Name: "creditorName", Value: "Merchant A"},
		{Name: "days", Value: "1, 2, 3"},
		{Name: "deep.a.b.c", Value: "{\n  \"d\": 1\n}", JSON: true},
		{Name: "empty", Value: "{}", JSON: true},
		{Name: "instructedAmount.amount", Value: "123.50"},
		{Name: "instructedAmount.currency", Value: "EUR"},
		{Name: "items", Value: "[\n  {\n    \"sku\": \"x\"\n  }\n]", JSON: true},
		{Name: "note", Value: "null"},
		{Name: "recurring", Value: "true"},
	}
	if got := l[0].Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields() =\n%#v\nwant\n%#v", got, want)
	}
}

func TestVisible(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text is kept", "Merchant A – €10", "Merchant A – €10"},
		{"line breaks are kept", "a\nb", "a\nb"},
		{"a right-to-left override is spelled out", "pay \u202e001", `pay \u202E001`},
		{"an isolate is spelled out", "x\u2067y\u2069", `x\u2067y\u2069`},
		{"control characters are spelled out", "a\x00b\tc\u0085", `a\u0000b\u0009c\u0085`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Visible(tt.in); got != tt.want {
				t.Fatalf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	l, err := Parse(`[{"type":"b"},{"type":"a"},{"type":"b"}]`)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Types(); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("Types() = %v", got)
	}
}
