// Package e2e holds the end-to-end tests: each starts the real server on a
// loopback port, backed by SQLite or (when OAUTH2_TEST_POSTGRES_URL is set)
// PostgreSQL, and drives it over HTTP with golang.org/x/oauth2 and
// github.com/coreos/go-oidc/v3, through the real sign-in and consent forms.
package e2e
