package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

const (
	// racers is how many goroutines compete for one single-use record.
	racers = 50
	// rounds repeats each race, since a lost race may show only sometimes.
	rounds = 3
)

// race runs fn in racers goroutines released at once and returns their
// errors, indexed by goroutine.
func race(fn func(i int) error) []error {
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally checks that exactly one error is nil and every other one is
// ErrAlreadyUsed, and returns the index of the winner.
func tally(t *testing.T, errs []error) int {
	t.Helper()
	return tallyLosers(t, errs, ports.ErrAlreadyUsed)
}

// tallyLosers checks that exactly one error is nil and every other one is
// lost, and returns the index of the winner.
func tallyLosers(t *testing.T, errs []error, lost error) int {
	t.Helper()
	winner, wins, losses := -1, 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner = i
			wins++
		case errors.Is(err, lost):
			losses++
		default:
			t.Errorf("goroutine %d: unexpected error: %v", i, err)
		}
	}
	if wins != 1 || losses != len(errs)-1 {
		t.Fatalf("%d succeeded and %d got %v, want 1 and %d", wins, losses, lost, len(errs)-1)
	}
	return winner
}

func testConcurrency(t *testing.T, open opener) {
	t.Run(fmt.Sprintf("%d concurrent redemptions of one code: one wins, the rest get ErrAlreadyUsed and the winner's tokens end revoked", racers), func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for round := range rounds {
			hash := fmt.Sprintf("code-%d", round)
			mustNil(t, s.CreateAuthCode(t.Context(), newAuthCode(tenantA, hash, at)), "CreateAuthCode")
			prefix := func(i int) string { return fmt.Sprintf("round%d-racer%d", round, i) }
			codes := make([]*ports.AuthorizationCode, racers)
			errs := race(func(i int) error {
				var err error
				codes[i], err = s.RedeemAuthCode(t.Context(), tenantA, hash, at.Add(time.Duration(i+1)*time.Microsecond), ports.Redemption{
					Issued: issued(tenantA, prefix(i), "grant-"+hash, "", at),
				})
				return err
			})
			winner := tally(t, errs)
			winAt := at.Add(time.Duration(winner+1) * time.Microsecond)
			for i, c := range codes {
				if c == nil {
					t.Fatalf("goroutine %d got no code", i)
				}
				if c.UsedAt == nil || !c.UsedAt.Equal(winAt) {
					t.Errorf("goroutine %d: UsedAt = %v, want the winner's %v", i, c.UsedAt, winAt)
				}
			}
			// RFC 6749 §4.1.2: the replays revoke what the winner was given.
			for _, id := range []string{prefix(winner) + "-access", prefix(winner) + "-refresh"} {
				if tok := getToken(t, s, tenantA, id); tok.RevokedAt == nil {
					t.Errorf("token %s of the replayed code is not revoked", id)
				}
			}
			for i := range racers {
				if i != winner {
					mustNotExist(t, s, tenantA, prefix(i)+"-access")
				}
			}
		}
	})

	t.Run(fmt.Sprintf("%d concurrent rotations of one refresh token: one wins, the rest get ErrAlreadyUsed and the grant ends revoked", racers), func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for round := range rounds {
			grant := fmt.Sprintf("grant-%d", round)
			old := fmt.Sprintf("refresh-%d", round)
			mustNil(t, s.CreateTokens(t.Context(), []*ports.Token{newToken(tenantA, old, ports.TokenRefresh, grant, at)}), "CreateTokens")
			now := at.Add(time.Minute)
			prefix := func(i int) string { return fmt.Sprintf("round%d-racer%d", round, i) }
			errs := race(func(i int) error {
				_, err := s.RotateRefreshToken(t.Context(), tenantA, old, now, ports.Rotation{Issued: issued(tenantA, prefix(i), grant, old, now)})
				return err
			})
			winner := tally(t, errs)
			for _, id := range []string{old, prefix(winner) + "-access", prefix(winner) + "-refresh"} {
				if tok := getToken(t, s, tenantA, id); tok.RevokedAt == nil {
					t.Errorf("token %s of the replayed grant is not revoked", id)
				}
			}
			for i := range racers {
				if i != winner {
					mustNotExist(t, s, tenantA, prefix(i)+"-refresh")
				}
			}
		}
	})

	t.Run(fmt.Sprintf("%d concurrent uses of one jti: one wins, the rest get ErrAlreadyUsed", racers), func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for round := range rounds {
			key := fmt.Sprintf("dpop:jti-%d", round)
			errs := race(func(i int) error {
				return s.UseJTI(t.Context(), tenantA, key, at.Add(time.Minute), at)
			})
			tally(t, errs)
		}
	})

	t.Run(fmt.Sprintf("%d concurrent uses of one expired jti: one replaces it, the rest get ErrAlreadyUsed", racers), func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for round := range rounds {
			key := fmt.Sprintf("assertion:jti-%d", round)
			mustNil(t, s.UseJTI(t.Context(), tenantA, key, at, at.Add(-time.Minute)), "UseJTI")
			errs := race(func(i int) error {
				return s.UseJTI(t.Context(), tenantA, key, at.Add(time.Minute), at)
			})
			tally(t, errs)
		}
	})

	t.Run(fmt.Sprintf("%d concurrent consumptions of one authorization request: one gets it, the rest get ErrNotFound", racers), func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for round := range rounds {
			id := fmt.Sprintf("request-%d", round)
			mustNil(t, s.CreateAuthRequest(t.Context(), newAuthRequest(tenantA, id, at)), "CreateAuthRequest")
			reqs := make([]*ports.AuthRequest, racers)
			errs := race(func(i int) error {
				var err error
				reqs[i], err = s.ConsumeAuthRequest(t.Context(), tenantA, id, at)
				return err
			})
			winner := tallyLosers(t, errs, ports.ErrNotFound)
			checkEqual(t, newAuthRequest(tenantA, id, at), reqs[winner])
		}
	})

	testPendingConcurrency(t, open, deviceCodes)
	testPendingConcurrency(t, open, cibaRequests)
}

// testPendingConcurrency races redemptions of one approved request of kind
// k, and decisions on one pending request.
func testPendingConcurrency[T any](t *testing.T, open opener, k pendingKind[T]) {
	t.Run(fmt.Sprintf("%d concurrent redemptions of one approved %s: one wins, the rest get ErrAlreadyUsed", racers, k.noun), func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for round := range rounds {
			hash, name := fmt.Sprintf("h-%d", round), fmt.Sprintf("%s%d", k.name, round)
			k.mustCreate(t, s, k.newReq(tenantA, hash, name, at))
			mustNil(t, k.decide(t.Context(), s, tenantA, name, k.approved, "u1", "s1", at, at, nil), "Decide"+k.kind)
			reqs := make([]*T, racers)
			errs := race(func(i int) error {
				var err error
				reqs[i], err = k.redeem(s, t.Context(), tenantA, hash, at.Add(time.Duration(i+1)*time.Microsecond))
				return err
			})
			winner := tally(t, errs)
			winAt := at.Add(time.Duration(winner+1) * time.Microsecond)
			for i, r := range reqs {
				if r == nil {
					t.Fatalf("goroutine %d got no %s", i, k.noun)
				}
				if used := k.usedAt(r); used == nil || !used.Equal(winAt) {
					t.Errorf("goroutine %d: UsedAt = %v, want the winner's %v", i, used, winAt)
				}
			}
		}
	})

	t.Run(fmt.Sprintf("%d concurrent decisions on one %s: one lands, the rest get ErrAlreadyUsed", racers, k.noun), func(t *testing.T) {
		s := open(t)
		at := baseTime()
		for round := range rounds {
			hash, name := fmt.Sprintf("h-%d", round), fmt.Sprintf("%s%d", k.name, round)
			k.mustCreate(t, s, k.newReq(tenantA, hash, name, at))
			status := func(i int) string {
				if i%2 == 0 {
					return k.approved
				}
				return k.denied
			}
			user := func(i int) string { return fmt.Sprintf("user-%d", i) }
			session := func(i int) string { return fmt.Sprintf("session-%d", i) }
			errs := race(func(i int) error {
				return k.decide(t.Context(), s, tenantA, name, status(i), user(i), session(i), at, at, nil)
			})
			winner := tally(t, errs)
			want := k.decided(k.newReq(tenantA, hash, name, at), status(winner), user(winner), session(winner), at)
			checkEqual(t, want, k.mustGet(t, s, tenantA, name, at))
		}
	})
}
