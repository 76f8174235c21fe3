package histogram

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{name: "empty", values: nil, q: 0.5, want: 0},
		{name: "one value", values: []time.Duration{3 * time.Millisecond}, q: 0.999, want: 3 * time.Millisecond},
		{name: "median of small exact values", values: []time.Duration{1, 2, 3, 4, 5}, q: 0.5, want: 3},
		{name: "p99 of 1..100", values: seq(1, 100), q: 0.99, want: 99},
		{name: "p100 is the maximum", values: seq(1, 100), q: 1, want: 100},
		{name: "tiny q is the minimum", values: seq(10, 20), q: 0.0001, want: 10},
		{name: "rank rounds up", values: []time.Duration{1, 2, 3, 4}, q: 0.5, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Record(v)
			}
			if got := h.Quantile(tt.q); got != tt.want {
				t.Fatalf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func seq(from, to time.Duration) []time.Duration {
	var out []time.Duration
	for v := from; v <= to; v++ {
		out = append(out, v)
	}
	return out
}

// Against the exact percentile of a sorted sample, the histogram is never
// below it and at most 1% above it.
func TestQuantileMatchesExactWithinOnePercent(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	values := make([]time.Duration, 100_000)
	for i := range values {
		// Log-uniform from 1 µs to 1 s, like real latencies with a long tail.
		values[i] = time.Duration(float64(time.Microsecond) * math.Pow(10, r.Float64()*6))
		h.Record(values[i])
	}
	slices.Sort(values)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 0.9999} {
		exact := values[int(float64(len(values))*q+0.999999)-1]
		got := h.Quantile(q)
		if got < exact || float64(got) > float64(exact)*1.01 {
			t.Errorf("Quantile(%v) = %v, exact %v", q, got, exact)
		}
	}
	if h.Min() != values[0] || h.Max() != values[len(values)-1] {
		t.Errorf("min/max = %v/%v, want %v/%v", h.Min(), h.Max(), values[0], values[len(values)-1])
	}
}

func TestMerge(t *testing.T) {
	var a, b, all Histogram
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var merged Histogram
	merged.Merge(&a)
	merged.Merge(&b)
	merged.Merge(&Histogram{})
	if merged.Count() != all.Count() || merged.Min() != all.Min() || merged.Max() != all.Max() || merged.Mean() != all.Mean() {
		t.Fatalf("merged count/min/max/mean = %d/%v/%v/%v, want %d/%v/%v/%v",
			merged.Count(), merged.Min(), merged.Max(), merged.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if merged.Quantile(q) != all.Quantile(q) {
			t.Errorf("Quantile(%v) = %v, want %v", q, merged.Quantile(q), all.Quantile(q))
		}
	}
}

// Every value lies within its bucket, and buckets are ordered, so walking
// them in order walks values in order.
func TestBucketBounds(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 1 << 20, 1<<20 + 12345, 1 << 40, 1<<47 - 1} {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d, below the previous value's bucket %d", v, i, prev)
		}
		prev = i
		if ub := upperBound(i); ub < v || (i > 0 && upperBound(i-1) >= v) {
			t.Fatalf("value %d in bucket %d with bounds (%d, %d]", v, i, upperBound(i-1), ub)
		}
	}
	if got := bucketOf(1 << 62); got != numBuckets-1 {
		t.Fatalf("a huge value goes to bucket %d, want the last (%d)", got, numBuckets-1)
	}
}
