package authzdetails

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzAuthorizationDetails feeds arbitrary authorization_details values to
// the parser. It must never panic; a refusal must be an *Error of bounded
// length; whatever it accepts must respect the limits, have a canonical
// form that reads back to itself, and cover itself.
func FuzzAuthorizationDetails(f *testing.F) {
	f.Add(`[{"type":"payment_initiation","actions":["initiate"],"instructedAmount":{"currency":"EUR","amount":"1.00"}}]`)
	f.Add(`[{"type":"t","t":1,"t":2}]`)
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := Parse(raw)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if l != nil {
				t.Fatalf("Parse returned a list with the error %v", err)
			}
			if len(err.Error()) > 256 {
				t.Fatalf("error of %d bytes: %.80q...", len(err.Error()), err.Error())
			}
			return
		}
		switch {
		case len(raw) > MaxBytes:
			t.Fatalf("accepted %d bytes", len(raw))
		case len(l) == 0 || len(l) > MaxEntries:
			t.Fatalf("accepted %d objects", len(l))
		}
		for _, d := range l {
			if d.Type == "" || len(d.Type) > MaxTypeLength {
				t.Fatalf("accepted type %q", d.Type)
			}
			for _, fld := range d.Fields() {
				if fld.JSON && !json.Valid([]byte(fld.Value)) {
					t.Fatalf("field %s shown as JSON is not JSON: %q", fld.Name, fld.Value)
				}
			}
			if !json.Valid([]byte(d.Indented())) {
				t.Fatalf("Indented() is not JSON: %q", d.Indented())
			}
		}
		canonical := l.JSON()
		again, err := Decode(canonical)
		if err != nil {
			t.Fatalf("the canonical form %q does not read back: %v", canonical, err)
		}
		if again.JSON() != canonical {
			t.Fatalf("canonical form is not stable: %q then %q", canonical, again.JSON())
		}
		if !l.Covers(l) || !l.Covers(again) || !again.Covers(l) {
			t.Fatalf("%q does not cover itself", canonical)
		}
	})
}
