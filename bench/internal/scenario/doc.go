// Package scenario defines what the benchmark measures: each scenario
// prepares what it needs from the server (clients, tokens, codes) outside
// the timed phase and hands the load runner one Op per worker.
//
// Scenarios share an Env that registers the benchmark's clients once and
// keeps one signed-in browser; they reach the server only through package
// target.
package scenario
