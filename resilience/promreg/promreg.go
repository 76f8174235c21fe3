// Package promreg registers Prometheus collectors so that a second
// registration of the same collector on one registry (two routers or two
// stores built in one process, as tests and tenants do) shares the series
// already there instead of failing. It lives in resilience because the
// modules that count things (resilience, ratelimit, the server) all import
// it; it imports nothing of the server.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg and returns it, or returns the equal
// collector registered before when there is one of the same type. Any
// other registration error comes back with c.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
