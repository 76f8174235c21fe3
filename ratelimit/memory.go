package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"

	"oauth2-server.dev/ports"
)

// MemoryOptions configures an in-memory limiter.
type MemoryOptions struct {
	// MaxKeys bounds how many keys are remembered. Default 100,000: about
	// ten megabytes. A key whose budget is full again is forgotten first
	// (which changes no decision); past the bound a remembered key is
	// dropped, which resets its budget, so size the bound above the number
	// of clients active within one window.
	MaxKeys int
	// Clock tells the time; default ports.SystemClock. Tests set it.
	Clock ports.Clock
}

// shardCount spreads keys over independently locked maps so that
// concurrent requests for different keys rarely wait on each other.
const shardCount = 64

// Memory is a GCRA limiter whose budgets live in this process: each
// replica has its own. Use Redis to share budgets between replicas.
type Memory struct {
	clock    ports.Clock
	seed     maphash.Seed
	perShard int
	shards   [shardCount]memShard
}

type memShard struct {
	mu  sync.Mutex
	tat map[string]int64
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an in-memory limiter.
func NewMemory(o MemoryOptions) *Memory {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	if o.Clock == nil {
		o.Clock = ports.SystemClock{}
	}
	m := &Memory{
		clock:    o.Clock,
		seed:     maphash.MakeSeed(),
		perShard: max(1, (o.MaxKeys+shardCount-1)/shardCount),
	}
	for i := range m.shards {
		m.shards[i].tat = make(map[string]int64)
	}
	return m
}

// AllowN implements Limiter. It never fails for a valid request.
func (m *Memory) AllowN(_ context.Context, key string, limit Limit, n int) (Decision, error) {
	if err := checkRequest(limit, n); err != nil {
		return Decision{}, err
	}
	if len(key) > 64 {
		key = hashedKey(key)
	}
	now := m.clock.Now().UnixNano()
	s := &m.shards[maphash.String(m.seed, key)%shardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, known := s.tat[key]
	d, next := gcra(now, tat, limit, n)
	if next > now && next != tat {
		if !known && len(s.tat) >= m.perShard {
			s.makeRoom(now, m.perShard)
		}
		s.tat[key] = next
	}
	return d, nil
}

// makeRoom forgets keys whose budget is full again, and if that frees
// nothing, one arbitrary key, so the shard stays within its bound.
func (s *memShard) makeRoom(now int64, bound int) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	for k := range s.tat {
		if len(s.tat) < bound {
			break
		}
		delete(s.tat, k)
	}
}

// keys reports how many keys are remembered, for tests.
func (m *Memory) keys() int {
	total := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		total += len(s.tat)
		s.mu.Unlock()
	}
	return total
}
