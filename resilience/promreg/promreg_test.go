package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	opts := prometheus.CounterOpts{Name: "promreg_test_total", Help: "A counter for the test."}
	tests := []struct {
		name    string
		first   prometheus.Collector
		wantErr bool
		same    bool
	}{
		{name: "second registration shares the first collector", first: prometheus.NewCounter(opts), same: true},
		{name: "a collector of another type under the name fails",
			first:   prometheus.NewCounterVec(opts, []string{"kind"}),
			wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			if err := reg.Register(tt.first); err != nil {
				t.Fatal(err)
			}
			got, err := Register(reg, prometheus.NewCounter(opts))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Register() error = %v, want error %v", err, tt.wantErr)
			}
			if tt.same && got != tt.first {
				t.Error("Register() returned a new collector, want the one registered first")
			}
		})
	}
}
