package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// setting is one entry of the definition in settings.go, whatever its
// type.
type setting interface {
	// name is the environment variable, OAUTH2_...
	name() string
	setDefault(c *Config)
	readText(c *Config, text string) error
	readNode(c *Config, n *yaml.Node) error
	// applyDev replaces the default with dev mode's, if the setting has
	// one and still holds the default.
	applyDev(c *Config)
	check(c *Config, r *report)
	isQuiet() bool
	docs() docs
}

// docs is what the README's configuration table says of a setting.
type docs struct {
	env, defaults, meaning string
	// custom says defaults was written out, not rendered.
	custom, sameRow bool
}

// field defines a setting of type T: where it lives in Config, how it is
// read, its default, its checks and its documentation.
type field[T any] struct {
	// env is the environment variable; the file key is the same in lower
	// case without the OAUTH2_ prefix.
	env  string
	at   func(*Config) *T
	kind kind[T]
	def  T
	// dev, when set, is dev mode's default: it replaces the value if
	// that is still the default and the environment did not set it.
	dev func(*Config) T
	// checks validate the value; each reports under the file key.
	checks []func(r *report, key string, v T)
	// meaning is the README's description. defaults, when set, stands
	// for the rendered default and dev default in the README.
	meaning, defaults string
	// sameRow documents the setting in the README row of the setting
	// before it, which carries the meaning.
	sameRow bool
	// quiet settings are never echoed in messages: secrets, and values
	// too long to read back.
	quiet bool
}

func (f *field[T]) name() string         { return f.env }
func (f *field[T]) setDefault(c *Config) { *f.at(c) = clone(f.def) }
func (f *field[T]) isQuiet() bool        { return f.quiet }

func (f *field[T]) readText(c *Config, text string) error {
	v, err := f.kind.text(text)
	if err == nil {
		*f.at(c) = v
	}
	return err
}

func (f *field[T]) readNode(c *Config, n *yaml.Node) error {
	v, err := f.kind.file(n)
	if err == nil {
		*f.at(c) = v
	}
	return err
}

func (f *field[T]) applyDev(c *Config) {
	if f.dev != nil && reflect.DeepEqual(*f.at(c), f.def) {
		*f.at(c) = f.dev(c)
	}
}

func (f *field[T]) check(c *Config, r *report) {
	for _, ck := range f.checks {
		ck(r, fileKey(f.env), *f.at(c))
	}
}

func (f *field[T]) docs() docs {
	d := docs{env: f.env, defaults: f.defaults, meaning: f.meaning, custom: f.defaults != "", sameRow: f.sameRow}
	if !d.custom {
		d.defaults = f.kind.show(f.def)
		if d.defaults == "" {
			d.defaults = "none"
		}
		if f.dev != nil {
			d.defaults += fmt.Sprintf(" (dev: %s)", f.kind.show(f.dev(&Config{})))
		}
	}
	return d
}

// fileKey is the file's name of a setting: OAUTH2_DATABASE_URL is
// database_url.
func fileKey(env string) string { return strings.ToLower(strings.TrimPrefix(env, "OAUTH2_")) }

// clone copies a default that is a slice, so that no loaded Config shares
// it with the definition.
func clone[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	if rv.Kind() == reflect.Slice && !rv.IsNil() {
		c := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(c, rv)
		rv.Set(c)
	}
	return v
}

// always is a dev default that does not depend on other settings.
func always[T any](v T) func(*Config) T { return func(*Config) T { return v } }

// report gathers what Load refuses and what it warns about, so that an
// operator learns of every problem in one message.
type report struct {
	problems []string
	warnings []string
	// unreadable is set when a value could not be read at all: checking
	// the rest would judge defaults the operator did not mean.
	unreadable bool
}

func (r *report) bad(format string, a ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, a...))
}

func (r *report) warn(format string, a ...any) {
	r.warnings = append(r.warnings, fmt.Sprintf(format, a...))
}

func (r *report) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return fmt.Errorf("config: %s", strings.Join(r.problems, "; "))
}

// envFailed records why the environment's value of s was not taken.
func (r *report) envFailed(s setting, value string, err error) {
	var w want
	switch {
	case errors.As(err, &w) && s.isQuiet():
		r.bad("%s: %v", s.name(), w)
	case errors.As(err, &w):
		r.bad("%s=%q: %v", s.name(), value, w)
	case isRefusal(err):
		r.bad("%v", err)
	default:
		r.bad("%s: %v", fileKey(s.name()), err)
	}
	r.unreadable = r.unreadable || errors.As(err, &w)
}

// fileFailed records why the file's value of s, at node n, was not
// taken.
func (r *report) fileFailed(s setting, file string, n *yaml.Node, err error) {
	var w want
	where := fmt.Sprintf("%s: line %d: %s", file, n.Line, fileKey(s.name()))
	switch {
	case errors.As(err, &w) && !s.isQuiet() && n.Kind == yaml.ScalarNode:
		r.bad("%s: %q: %v", where, n.Value, w)
	case errors.As(err, &w):
		r.bad("%s: %v", where, w)
	case isRefusal(err):
		r.bad("%v", err)
	default:
		r.bad("%s: %v", where, err)
	}
	r.unreadable = r.unreadable || errors.As(err, &w)
}

func isRefusal(err error) bool {
	var r refusal
	return errors.As(err, &r)
}
