package sqlstore

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

// BenchmarkCreateTokens times what a client_credentials token costs the
// store: one access token record and its token.issued event, written by
// many requests at once as on a busy token endpoint, each durable (synced)
// before it returns.
func BenchmarkCreateTokens(b *testing.B) {
	s, err := Open(b.Context(), "sqlite:"+b.TempDir()+"/bench.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	id := func() string {
		var r [16]byte
		_, _ = rand.Read(r[:])
		return hex.EncodeToString(r[:])
	}
	b.SetParallelism(16) // 16 x GOMAXPROCS concurrent writers
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			tok := &ports.Token{
				ID: id(), Tenant: ports.DefaultTenant, Kind: ports.TokenAccess, GrantID: id(),
				ClientID: "bench-client", Subject: "bench-client", Scope: "api:read", Audience: "https://id.example",
				IssuedAt: now, ExpiresAt: now.Add(time.Hour),
			}
			ev := ports.Event{ID: ports.NewEventID(), Time: now, Type: ports.EventTokenIssued, Tenant: ports.DefaultTenant,
				Subject: "bench-client", ClientID: "bench-client", Data: map[string]string{"grant_type": "client_credentials", "scope": "api:read"}}
			if err := s.CreateTokens(b.Context(), []*ports.Token{tok}, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	commits, changes := s.WriteStats()
	if commits > 0 {
		b.ReportMetric(float64(changes)/float64(commits), "changes/commit")
	}
}
