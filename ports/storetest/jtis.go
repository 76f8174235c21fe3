package storetest

import (
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func testJTIs(t *testing.T, open opener) {
	t.Run("first use succeeds and a replay before expiry returns ErrAlreadyUsed", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		exp := at.Add(5 * time.Minute)
		mustNil(t, s.UseJTI(t.Context(), tenantA, "dpop:j1", exp, at), "UseJTI")
		for _, now := range []time.Time{at, at.Add(time.Second), exp.Add(-time.Microsecond)} {
			mustIs(t, s.UseJTI(t.Context(), tenantA, "dpop:j1", exp, now), ports.ErrAlreadyUsed, "UseJTI replay at "+now.String())
		}
	})

	t.Run("a record expired at now is replaced and then guards the new expiry", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		exp := at.Add(time.Minute)
		mustNil(t, s.UseJTI(t.Context(), tenantA, "assertion:j1", exp, at), "UseJTI")
		later := exp.Add(time.Minute)
		mustNil(t, s.UseJTI(t.Context(), tenantA, "assertion:j1", later, exp), "UseJTI at the old expiry")
		mustIs(t, s.UseJTI(t.Context(), tenantA, "assertion:j1", later, later.Add(-time.Microsecond)), ports.ErrAlreadyUsed, "UseJTI before the new expiry")
		mustNil(t, s.UseJTI(t.Context(), tenantA, "assertion:j1", later.Add(time.Hour), later.Add(time.Hour)), "UseJTI long after")
	})

	t.Run("a refused replay does not extend the record", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		exp := at.Add(time.Minute)
		mustNil(t, s.UseJTI(t.Context(), tenantA, "j1", exp, at), "UseJTI")
		mustIs(t, s.UseJTI(t.Context(), tenantA, "j1", exp.Add(time.Hour), at.Add(time.Second)), ports.ErrAlreadyUsed, "UseJTI replay")
		mustNil(t, s.UseJTI(t.Context(), tenantA, "j1", exp.Add(time.Hour), exp), "UseJTI at the first expiry")
	})

	t.Run("keys are kept apart per tenant and per key", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		exp := at.Add(time.Minute)
		mustNil(t, s.UseJTI(t.Context(), tenantA, "dpop:j1", exp, at), "UseJTI a")
		mustNil(t, s.UseJTI(t.Context(), tenantB, "dpop:j1", exp, at), "UseJTI same key in tenant b")
		mustNil(t, s.UseJTI(t.Context(), tenantA, "assertion:j1", exp, at), "UseJTI same jti in another namespace")
		mustIs(t, s.UseJTI(t.Context(), tenantB, "dpop:j1", exp, at), ports.ErrAlreadyUsed, "UseJTI replay in tenant b")
	})
}
