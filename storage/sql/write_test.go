package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/ports/faultproxy"
)

// writerDialects opens an unmigrated store of each dialect; PostgreSQL is
// skipped without a test server.
var writerDialects = []struct {
	name string
	open func(t *testing.T) *Store
}{
	{"sqlite", func(t *testing.T) *Store { return newSQLiteStore(t, Options{}) }},
	{"postgres", func(t *testing.T) *Store { return newPostgresStore(t, postgresURL(t), Options{}) }},
}

// TestChangeAndEventsCommitTogether proves the outbox write is part of the
// change's transaction: when the event cannot be stored (its id is taken),
// the change is rolled back with it.
func TestChangeAndEventsCommitTogether(t *testing.T) {
	for _, d := range writerDialects {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			migrated(t, s)
			now := time.Now()
			taken := ports.Event{ID: "taken", Type: ports.EventTokenIssued, Time: now}
			if err := s.AppendEvents(t.Context(), taken); err != nil {
				t.Fatal(err)
			}
			var notified []ports.Event
			s.OnEvents(func(evs []ports.Event) { notified = append(notified, evs...) })

			tok := &ports.Token{ID: "t1", Tenant: "a", Kind: ports.TokenAccess, GrantID: "g1", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			err := s.CreateTokens(t.Context(), []*ports.Token{tok}, taken)
			if !errors.Is(err, ports.ErrConflict) {
				t.Fatalf("CreateTokens with a taken event id: %v, want ErrConflict", err)
			}
			if _, err := s.GetToken(t.Context(), "a", "t1"); !errors.Is(err, ports.ErrNotFound) {
				t.Fatalf("the token of the failed change was stored: GetToken = %v", err)
			}
			if len(notified) != 0 {
				t.Fatalf("OnEvents was told of %d events of a rolled-back change", len(notified))
			}

			fresh := ports.Event{ID: "fresh", Type: ports.EventTokenIssued, Time: now}
			if err := s.CreateTokens(t.Context(), []*ports.Token{tok}, fresh); err != nil {
				t.Fatal(err)
			}
			if len(notified) != 1 || notified[0].ID != "fresh" {
				t.Fatalf("OnEvents was told of %v, want the committed event", notified)
			}
		})
	}
}

// TestGroupedChangesFailAlone: the writer commits concurrent changes in
// shared transactions, and a change that fails rolls back alone.
func TestGroupedChangesFailAlone(t *testing.T) {
	for _, d := range writerDialects {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			migrated(t, s)
			now := time.Now()
			tok := func(id string) *ports.Token {
				return &ports.Token{ID: id, Tenant: "a", Kind: ports.TokenAccess, GrantID: "g-" + id, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			}
			if err := s.CreateTokens(t.Context(), []*ports.Token{tok("taken")}); err != nil {
				t.Fatal(err)
			}
			const n = 200
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					id := fmt.Sprintf("t%03d", i)
					batch := []*ports.Token{tok(id)}
					if i%10 == 0 {
						// Every tenth change collides halfway through.
						batch = append(batch, tok("taken"))
					}
					errs[i] = s.CreateTokens(t.Context(), batch, ports.Event{ID: "e-" + id, Type: ports.EventTokenIssued, Time: now})
				})
				// Changes of other kinds share the transactions.
				wg.Go(func() {
					<-start
					if err := s.RevokeGrant(t.Context(), "a", "g-taken", now); err != nil {
						t.Errorf("RevokeGrant beside the inserts: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				id := fmt.Sprintf("t%03d", i)
				_, getErr := s.GetToken(t.Context(), "a", id)
				if i%10 == 0 {
					if !errors.Is(err, ports.ErrConflict) || !errors.Is(getErr, ports.ErrNotFound) {
						t.Fatalf("colliding change %d: err %v, token lookup %v; want ErrConflict and nothing stored", i, err, getErr)
					}
					continue
				}
				if err != nil || getErr != nil {
					t.Fatalf("change %d: err %v, token lookup %v; want it stored", i, err, getErr)
				}
			}
			evs, err := s.ClaimEvents(t.Context(), 1000, time.Minute, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != n-n/10 {
				t.Fatalf("outbox holds %d events, want %d (one per committed change)", len(evs), n-n/10)
			}
		})
	}
}

func TestChangeOfAGoneCallerIsSkipped(t *testing.T) {
	s := newSQLiteStore(t, Options{})
	migrated(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	now := time.Now()
	err := s.CreateTokens(ctx, []*ports.Token{{ID: "t1", Tenant: "a", Kind: ports.TokenAccess, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateTokens with a canceled context = %v, want context.Canceled", err)
	}
	if _, err := s.GetToken(t.Context(), "a", "t1"); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("the change of a caller that was gone before it started was stored: %v", err)
	}
}

func TestChangesAfterCloseFail(t *testing.T) {
	s := newSQLiteStore(t, Options{})
	migrated(t, s)
	s.Close()
	now := time.Now()
	err := s.CreateTokens(t.Context(), []*ports.Token{{ID: "t1", Tenant: "a", Kind: ports.TokenAccess, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}})
	if err == nil {
		t.Fatal("a change after Close succeeded")
	}
}

// TestSessionClientsUsesTheSessionIndex: the index leaves out tokens
// without a session, and the planner may only use such a partial index
// when the query names its condition.
func TestSessionClientsUsesTheSessionIndex(t *testing.T) {
	s := newSQLiteStore(t, Options{})
	migrated(t, s)
	rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+qSessionClients.text, "a", "s1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	for _, step := range plan {
		if strings.Contains(step, "tokens_session_idx") {
			return
		}
	}
	t.Fatalf("SessionClients does not use tokens_session_idx: %q", plan)
}

// TestCallersDeadlineBoundsAStuckDatabase: PostgreSQL stops answering (a
// black hole: connections accepted, nothing returned). A write already in
// its batch's transaction, and a read, return when their caller's context
// ends, not after the batch's own 10 s bound.
func TestCallersDeadlineBoundsAStuckDatabase(t *testing.T) {
	u, err := url.Parse(postgresSchema(t, postgresURL(t)))
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.New(t, u.Host)
	u.Host = proxy.Addr()
	// Enough connections for a writer of eight workers: each change below
	// holds one, stuck, and the last must still find a worker free.
	s, err := Open(t.Context(), u.String(), Options{MaxOpenConns: 16})
	if err != nil {
		t.Fatalf("Open through the proxy: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	// Runs before Close: the stuck transactions then finish at once.
	t.Cleanup(func() { proxy.SetMode(faultproxy.Pass) })
	migrated(t, s)
	now := time.Now()
	token := func(id string) []*ports.Token {
		return []*ports.Token{{ID: id, Tenant: "a", Kind: ports.TokenAccess, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}
	}
	if err := s.CreateTokens(t.Context(), token("before")); err != nil {
		t.Fatalf("CreateTokens with PostgreSQL answering: %v", err)
	}
	proxy.SetMode(faultproxy.BlackHole)

	// Far above the deadline, far below batchTimeout.
	const deadline, bound = 300 * time.Millisecond, 3 * time.Second
	for _, c := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"new tokens", func(ctx context.Context) error { return s.CreateTokens(ctx, token("during")) }},
		{"a change", func(ctx context.Context) error { return s.UseJTI(ctx, "a", "jti-during", now.Add(time.Hour), now) }},
		{"a read", func(ctx context.Context) error { _, err := s.GetToken(ctx, "a", "before"); return err }},
	} {
		t.Run(c.name+" returns at the caller's deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			err := c.call(ctx)
			took := time.Since(start)
			if took > bound {
				t.Fatalf("took %v with PostgreSQL black-holed and a %v deadline", took, deadline)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v, want one matching context.DeadlineExceeded", err)
			}
		})
	}

	t.Run("a change that commits after its caller left still reports its events", func(t *testing.T) {
		reported := make(chan []ports.Event, 16)
		s.OnEvents(func(evs []ports.Event) { reported <- evs })
		ev := ports.Event{ID: ports.NewEventID(), Type: ports.EventTokenIssued, Tenant: "a", Time: now}
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		defer cancel()
		if err := s.CreateTokens(ctx, token("late"), ev); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("CreateTokens: %v, want one matching context.DeadlineExceeded", err)
		}
		proxy.SetMode(faultproxy.Pass)
		timeout := time.After(2 * batchTimeout)
		for {
			select {
			case evs := <-reported:
				if slices.ContainsFunc(evs, func(e ports.Event) bool { return e.ID == ev.ID }) {
					if _, err := s.GetToken(t.Context(), "a", "late"); err != nil {
						t.Fatalf("the change reported its events but its token reads %v", err)
					}
					return
				}
			case <-timeout:
				t.Fatal("the change's events never reached the OnEvents hook")
			}
		}
	})
}
