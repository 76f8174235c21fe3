// Package load runs a closed loop: a fixed number of workers, each sending
// its next request as soon as the previous one is answered, until a
// duration passes or a request budget is spent. It knows nothing about
// OAuth; a scenario hands it one Op per worker.
//
// The hot path takes no lock: each worker records into its own histogram,
// and the only shared writes are an atomic request counter (which enforces
// the budget and feeds the progress line) and, on failure only, an error
// counter.
package load
