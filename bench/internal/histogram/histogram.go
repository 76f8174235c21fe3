package histogram

import (
	"math"
	"math/bits"
	"time"
)

const (
	// subBits is the number of mantissa bits kept per power of two.
	subBits  = 7
	subCount = 1 << subBits
	// maxExp covers durations up to 2^(subBits+maxExp) ns, about 37 hours;
	// longer values land in the last bucket.
	maxExp     = 40
	numBuckets = (maxExp + 2) * subCount
)

// Histogram is a latency histogram. The zero value is ready to use. It is
// not safe for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    uint64
	min    uint64
	max    uint64
}

// Record adds one observation. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.max = max(h.max, v)
	h.n++
	h.sum += v
}

// Merge adds every observation of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Min is the smallest observation, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) } // #nosec G115 -- every value recorded came from a non-negative time.Duration

// Max is the largest observation, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) } // #nosec G115 -- every value recorded came from a non-negative time.Duration

// Mean is the arithmetic mean, exactly; zero without observations.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n) // #nosec G115 -- a mean is at most the maximum, a time.Duration
}

// Quantile returns the q-quantile (0 < q <= 1): the smallest recorded
// value v such that at least a fraction q of the observations are <= v,
// rounded up to its bucket's upper bound (so it never understates) and
// capped at the exact maximum. It returns 0 without observations.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	// The rank is 1-based; a fraction q of n observations is reached at
	// ceil(q*n), and at least the first observation for tiny q.
	rank := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(upperBound(i), h.max)) // #nosec G115 -- capped at the maximum, a time.Duration
		}
	}
	return time.Duration(h.max) // #nosec G115 -- every value recorded came from a non-negative time.Duration
}

// bucketOf maps a value in nanoseconds to its bucket index.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	// Shift so that the top subBits+1 bits remain: v>>e is in
	// [subCount, 2*subCount).
	e := bits.Len64(v) - (subBits + 1)
	if e > maxExp {
		return numBuckets - 1
	}
	return (e+1)*subCount + int(v>>e) - subCount // #nosec G115 -- v>>e < 2*subCount
}

// upperBound is the largest value that maps to bucket i.
func upperBound(i int) uint64 {
	if i < subCount {
		return uint64(i) // #nosec G115 -- bucket indexes are not negative
	}
	e := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return (m+1)<<e - 1
}
