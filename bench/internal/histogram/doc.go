// Package histogram records request latencies in fixed memory and answers
// percentiles. A load worker owns one histogram and records into it without
// locks; the runner merges the workers' histograms once the run is over.
//
// Buckets are log-linear: exact below 128 ns, then 128 sub-buckets per power
// of two, so a reported percentile is within 1% of the true value at any
// scale from nanoseconds to minutes. That is far finer than the run-to-run
// noise of a benchmark on a shared machine, and it keeps a worker's memory
// constant however long it runs.
package histogram
