package authzdetails

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what Parse accepts. RFC 9396 sets none; these keep a value
// small enough for a URL, a JWT access token and a database column, and
// shallow enough to put in front of a person on a consent page.
const (
	// MaxBytes bounds the parameter as sent.
	MaxBytes = 8 << 10
	// MaxEntries bounds the objects in the array.
	MaxEntries = 16
	// MaxDepth bounds the nesting of arrays and objects, the outer array
	// counting as one level.
	MaxDepth = 8
	// MaxTypeLength bounds a type identifier.
	MaxTypeLength = 256
)

// The type member (RFC 9396 §2.1) and the common fields (§2.2).
const (
	MemberType       = "type"
	MemberLocations  = "locations"
	MemberActions    = "actions"
	MemberDatatypes  = "datatypes"
	MemberIdentifier = "identifier"
	MemberPrivileges = "privileges"
)

// listMembers are the common fields whose value is an array of strings.
var listMembers = []string{MemberLocations, MemberActions, MemberDatatypes, MemberPrivileges}

// Detail is one authorization details object.
type Detail struct {
	Type       string
	Locations  []string
	Actions    []string
	Datatypes  []string
	Identifier string
	Privileges []string
	// members are all of the object's members as decoded (string,
	// json.Number, bool, nil, []any, map[string]any), the common fields
	// included.
	members map[string]any
}

// List is the value of an authorization_details parameter: one or more
// objects.
type List []Detail

// Error is why a value was refused. Its text names the member at fault by
// its JSON path and never repeats more than a short piece of the input, so
// it can go into an error_description as it is.
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func fail(format string, a ...any) error {
	return &Error{msg: "authorization_details" + fmt.Sprintf(format, a...)}
}

var (
	errSyntax   = fail(" is not valid JSON")
	errTooDeep  = fail(" nests arrays and objects deeper than %d levels", MaxDepth)
	errNotArray = fail(" must be a JSON array of objects")
)

// Parse reads an authorization_details value sent by a client (RFC 9396
// §2): a JSON array of at most MaxEntries objects, each with a non-empty
// string type and well-typed common fields, MaxBytes long at most, nested
// MaxDepth levels at most, valid UTF-8, and with no member name repeated
// within an object (decoders disagree on which one wins, so the server and
// a resource server could read different requests). Numbers keep their
// text. Every error is an *Error.
func Parse(raw string) (List, error) {
	if len(raw) > MaxBytes {
		return nil, fail(" is larger than %d bytes", MaxBytes)
	}
	return parse(raw)
}

// Decode reads back the canonical form (List.JSON) of a list the server
// stored. It checks what Parse checks but the size, which escaping may
// take past MaxBytes when the server writes the canonical form.
func Decode(canonical string) (List, error) { return parse(canonical) }

func parse(raw string) (List, error) {
	if !utf8.ValidString(raw) {
		return nil, fail(" is not valid UTF-8")
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	d := decoder{dec: dec}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(" has data after the array")
	}
	arr, ok := v.([]any)
	switch {
	case !ok:
		return nil, errNotArray
	case len(arr) == 0:
		return nil, fail(" must hold at least one object")
	case len(arr) > MaxEntries:
		return nil, fail(" holds more than %d objects", MaxEntries)
	}
	l := make(List, len(arr))
	for i, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, fail("[%d] must be a JSON object", i)
		}
		if l[i], err = detail(i, obj); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// decoder builds values from the token stream, where depth and repeated
// member names can be seen; json.Unmarshal hides both.
type decoder struct{ dec *json.Decoder }

func (d *decoder) value(depth int) (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, errSyntax
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= MaxDepth {
		return nil, errTooDeep
	}
	switch delim {
	case '[':
		arr := []any{}
		for d.dec.More() {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := d.dec.Token(); err != nil {
			return nil, errSyntax
		}
		return arr, nil
	case '{':
		obj := map[string]any{}
		for d.dec.More() {
			kt, err := d.dec.Token()
			if err != nil {
				return nil, errSyntax
			}
			k, ok := kt.(string)
			if !ok {
				return nil, errSyntax
			}
			if _, dup := obj[k]; dup {
				return nil, fail(" repeats the member name %s within one object", quote(k))
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj[k] = v
		}
		if _, err := d.dec.Token(); err != nil {
			return nil, errSyntax
		}
		return obj, nil
	}
	// A closing delimiter where a value belongs.
	return nil, errSyntax
}

func detail(i int, obj map[string]any) (Detail, error) {
	d := Detail{members: obj}
	// RFC 9396 §2.1: type is required and says how to read the rest.
	tv, ok := obj[MemberType]
	if !ok {
		return d, fail("[%d].type is missing", i)
	}
	t, ok := tv.(string)
	switch {
	case !ok || t == "":
		return d, fail("[%d].type must be a non-empty string", i)
	case len(t) > MaxTypeLength:
		return d, fail("[%d].type is longer than %d bytes", i, MaxTypeLength)
	}
	d.Type = t
	// RFC 9396 §2.2: the common fields are arrays of strings, identifier
	// a string. An empty array is refused: whether it grants nothing or
	// everything would be up to each reader.
	for _, name := range listMembers {
		v, ok := obj[name]
		if !ok {
			continue
		}
		s, ok := strs(v)
		if !ok || len(s) == 0 {
			return d, fail("[%d].%s must be a non-empty array of strings", i, name)
		}
		switch name {
		case MemberLocations:
			d.Locations = s
		case MemberActions:
			d.Actions = s
		case MemberDatatypes:
			d.Datatypes = s
		case MemberPrivileges:
			d.Privileges = s
		}
	}
	if v, ok := obj[MemberIdentifier]; ok {
		if d.Identifier, ok = v.(string); !ok {
			return d, fail("[%d].identifier must be a string", i)
		}
	}
	return d, nil
}

func strs(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

// quote shows a piece of the input in an error: quoted, and cut short.
func quote(s string) string {
	const most = 64
	if utf8.RuneCountInString(s) > most {
		s = string([]rune(s)[:most]) + "…"
	}
	return strconv.Quote(s)
}

// JSON returns the canonical form of the list: compact, members sorted by
// name at every level, numbers as sent, "" for an empty list. Two lists
// that mean the same members and values have the same canonical form.
func (l List) JSON() string {
	if len(l) == 0 {
		return ""
	}
	objs := make([]map[string]any, len(l))
	for i, d := range l {
		objs[i] = d.members
	}
	return encode(objs, "")
}

func encode(v any, indent string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	// The values came from the decoder: strings, valid numbers, booleans,
	// nulls, arrays and string-keyed objects always encode.
	_ = enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

// Types returns the distinct types of the list, in order.
func (l List) Types() []string {
	var out []string
	for _, d := range l {
		if !slices.Contains(out, d.Type) {
			out = append(out, d.Type)
		}
	}
	return out
}

// Covers reports whether every object of want is covered by an object of
// l, so that a token may carry want where l was authorized (RFC 9396
// §6.1). RFC 9396 leaves the comparison to each type's definition; without
// one the server compares conservatively: an object covers another of the
// same type that has exactly the same member names, whose locations,
// actions, datatypes and privileges are each a subset of its own, and
// whose every other member, identifier included, is equal to its own.
// Leaving out a member is never taken as narrower, since for some types it
// means "any".
func (l List) Covers(want List) bool {
	for _, w := range want {
		if !slices.ContainsFunc(l, func(g Detail) bool { return g.covers(w) }) {
			return false
		}
	}
	return true
}

func (g Detail) covers(w Detail) bool {
	if g.Type != w.Type || len(g.members) != len(w.members) {
		return false
	}
	for name, gv := range g.members {
		wv, ok := w.members[name]
		if !ok {
			return false
		}
		if slices.Contains(listMembers, name) {
			have, _ := strs(gv)
			asked, _ := strs(wv)
			for _, a := range asked {
				if !slices.Contains(have, a) {
					return false
				}
			}
			continue
		}
		if !reflect.DeepEqual(gv, wv) {
			return false
		}
	}
	return true
}

// Field is a member of an object other than type and the common fields,
// for people to read.
type Field struct {
	// Name is the member's name; members of nested objects are shown
	// under a dotted name (instructedAmount.currency).
	Name  string
	Value string
	// JSON is set when Value is indented JSON: an array holding objects
	// or arrays, or objects nested too deep to spell out.
	JSON bool
}

// flattenDepth is how many levels of nested objects Fields spells out
// before it shows the rest as JSON.
const flattenDepth = 3

// Fields returns the members other than type and the common fields, by
// name, in a form people can read: scalars as text, arrays of scalars as
// a list, objects member by member, anything else as indented JSON.
func (d Detail) Fields() []Field {
	var out []Field
	for _, name := range sortedKeys(d.members) {
		if name == MemberType || name == MemberIdentifier || slices.Contains(listMembers, name) {
			continue
		}
		out = flatten(out, name, d.members[name], 0)
	}
	return out
}

func flatten(out []Field, name string, v any, depth int) []Field {
	switch v := v.(type) {
	case map[string]any:
		if depth < flattenDepth && len(v) > 0 {
			for _, k := range sortedKeys(v) {
				out = flatten(out, name+"."+k, v[k], depth+1)
			}
			return out
		}
	case []any:
		if s, ok := scalars(v); ok {
			return append(out, Field{Name: name, Value: strings.Join(s, ", ")})
		}
	default:
		return append(out, Field{Name: name, Value: scalar(v)})
	}
	return append(out, Field{Name: name, Value: encode(v, "  "), JSON: true})
}

func scalars(arr []any) ([]string, bool) {
	if len(arr) == 0 {
		return nil, false
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		switch e.(type) {
		case map[string]any, []any:
			return nil, false
		}
		out[i] = scalar(e)
	}
	return out, true
}

func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return "null"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Indented returns the object as indented JSON, members sorted by name.
func (d Detail) Indented() string { return encode(d.members, "  ") }

// Visible makes every character of s show on a page: control characters
// (line breaks excepted) and the Unicode controls that reorder text are
// spelled as \uXXXX escapes. The user approves what the page shows, and a
// right-to-left override in a value could make "100" read "001".
func Visible(s string) string {
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, `\u%04X`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hidden(r rune) bool {
	switch {
	case r == '\n':
		return false
	case r < 0x20, r >= 0x7F && r < 0xA0:
		return true
	case r == 0x061C, r == 0x200E, r == 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
