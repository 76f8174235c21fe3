// Package config is the server's one typed configuration: defaults, an
// optional YAML file, OAUTH2_* environment overrides, and validation that
// refuses insecure settings outside dev mode. Every sub-command of
// oauth2-server reads the same Config. It imports the standard library and
// a YAML parser only.
package config
