// Package config is the server's one typed configuration: defaults, an
// optional YAML file, OAUTH2_* environment overrides, and validation that
// refuses insecure settings outside dev mode. Every sub-command of
// oauth2-server reads the same Config. It imports the standard library and
// a YAML parser only.
//
// Each setting is defined once, in settings.go: its environment variable
// (the file key is the same name in lower case without the prefix), its
// place in Config's sections, its type, its default and dev mode's, the
// checks of its value, and its line in the README's configuration table.
// Loading, defaults, validation and that table all follow from it; values
// such as networks, durations and rate budgets are parsed there once, into
// the types the server uses. Checks that involve several settings are in
// validate.go, section by section.
//
// After a change to a setting, go generate rewrites the README's table;
// the package's tests fail while the two differ.
package config

//go:generate go test -run TestREADMEConfigurationTable -update .
