package app

import (
	"net/http"
	"net/http/pprof"
)

// debugHandler serves Go's runtime profiles (CPU, heap, goroutines,
// mutex and block contention, execution traces) for operators who
// profile a running server. It is mounted on its own listener
// (OAUTH2_DEBUG_ADDR), never on the public one: profiles reveal the
// program's internals.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
