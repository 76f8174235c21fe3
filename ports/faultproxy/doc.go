// Package faultproxy is a TCP proxy for fault tests: it stands between a
// client and a server on loopback and forwards connections, refuses them,
// or black-holes them (accepts them and never answers), switchable while
// the test runs. A black hole is the outage that timeouts exist for: a
// refused connection fails at once, while a peer that takes the bytes and
// answers nothing holds every caller that trusts it to answer.
//
// It is test support: a Proxy belongs to a testing.TB and closes with it.
// It imports the standard library only and touches nothing but the
// loopback addresses the test gives it.
package faultproxy
