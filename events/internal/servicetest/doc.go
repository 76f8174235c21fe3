// Package servicetest finds the real Redis and NATS servers that the
// events tests run against, and names test streams so that parallel and
// repeated runs never share one. Tests skip, saying why, when a server is
// not configured, and fail instead when OAUTH2_TEST_REQUIRE_SERVICES=1, so
// that CI cannot go green by skipping.
package servicetest
