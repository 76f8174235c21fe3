// Package report turns load results into what the benchmark prints: a
// plain table for people and a JSON document for tools, both carrying every
// scenario as a fraction of the transport ceiling.
package report
