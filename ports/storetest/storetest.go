package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

type opener func(t *testing.T) ports.Store

// Run runs the contract suite against the stores open returns. open must
// return a fresh, empty, migrated store on every call and register the
// store's cleanup with t.Cleanup; the suite closes some stores itself, so
// that cleanup must tolerate a closed store. Every subtest opens its own
// store, so adapters need not clear data between subtests.
//
// Where a port comment leaves room, the suite holds adapters to one
// reading, so that backends stay interchangeable:
//   - a record expires at its ExpiresAt: at now == ExpiresAt it is gone;
//   - RotateRefreshToken returns the consumed token, UsedAt set, on success;
//   - a rotated refresh token presented again is ErrAlreadyUsed even after
//     the grant was revoked, since concurrent replays race with the
//     revocation the first replay triggers;
//   - revoking a revoked token keeps its first RevokedAt;
//   - UpdateClient replaces CreatedAt too, as it does every other field;
//   - ListClients and SessionClients order ids byte by byte, whatever the
//     backend's collation;
//   - SessionClients of the empty session id is empty: tokens issued
//     outside a login carry no session;
//   - of concurrent ConsumeAuthRequest calls the losers get ErrNotFound,
//     since for them the request is gone;
//   - a used device code is ErrAlreadyUsed even once expired, as a used
//     authorization code is, and so is a used CIBA request;
//   - PurgeExpired deletes exactly limit records while at least that many
//     have expired, so that a caller looping until fewer come back empties
//     the backlog;
//   - ClaimEvents hands events out in append order, not by their Time, and
//     returns each exactly as appended, its Time in UTC to the nanosecond;
//   - a lease taken at now ends at now+lease, when the event can be
//     claimed again, as a record expires at its ExpiresAt; so does a lease
//     taken on append, measured from the event's Time.
//
// Each suite is named after the port of ports.Store it holds a store to;
// Concurrency and Events of changes cut across them, and Lifecycle covers
// Ping and Close.
func Run(t *testing.T, open func(t *testing.T) ports.Store) {
	suites := []struct {
		name string
		run  func(*testing.T, opener)
	}{
		{"ClientStore", testClients},
		{"UserStore", testUsers},
		{"AuthRequestStore", testAuthRequests},
		{"AuthCodeStore", testAuthCodes},
		{"TokenStore", testTokens},
		{"SessionStore", testSessions},
		{"ConsentStore", testConsents},
		{"KeyStore", testKeys},
		{"JTIStore", testJTIs},
		{"DeviceCodeStore", testDeviceCodes},
		{"CIBAStore", testCIBARequests},
		{"Purger", testPurge},
		{"EventLog and Outbox", testEvents},
		{"EventHook", testEventHook},
		{"EventDiscarder", testEventDiscarder},
		{"EventLeaser", testEventLeaser},
		{"Concurrency", testConcurrency},
		{"Events of changes", testChangeEvents},
		{"Lifecycle", testLifecycle},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) { s.run(t, open) })
	}
}

// Tenants used throughout the suite. Records are created in tenantA unless
// a test is about isolation.
const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
)

// baseTime is the reference instant of a test: the wall clock (so that
// stores with time-to-live indexes keep the records) with a fixed, non-zero
// microsecond part so that sub-second precision is exercised.
func baseTime() time.Time {
	return ports.SystemClock{}.Now().Truncate(time.Second).Add(123456 * time.Microsecond)
}

func ptr(t time.Time) *time.Time { return &t }

func testLifecycle(t *testing.T, open opener) {
	t.Run("ping answers on an open store", func(t *testing.T) {
		s := open(t)
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("close succeeds", func(t *testing.T) {
		s := open(t)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

// mustNil fails the test now if err is not nil.
func mustNil(t *testing.T, err error, op string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", op, err)
	}
}

// mustIs fails the test now unless errors.Is(err, target).
func mustIs(t *testing.T, err, target error, op string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", op, err, target)
	}
}

// checkEqual reports every field in which got differs from want.
func checkEqual(t *testing.T, want, got any) {
	t.Helper()
	if d := diff(want, got); len(d) > 0 {
		t.Errorf("%T differs from what was stored:\n\t%s", got, strings.Join(d, "\n\t"))
	}
}

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
)

// diff compares two values of the same struct (or pointer to struct) type
// field by field, so that a field added to a ports entity is checked
// without touching the suite. Times compare with Equal and must come back in
// UTC; a nil slice equals an empty one, since stores differ in which of the
// two they return.
func diff(want, got any) []string {
	w, g := reflect.ValueOf(want), reflect.ValueOf(got)
	if w.Type() != g.Type() {
		return []string{fmt.Sprintf("type %v, want %v", g.Type(), w.Type())}
	}
	if w.Kind() == reflect.Pointer {
		switch {
		case w.IsNil() && g.IsNil():
			return nil
		case g.IsNil():
			return []string{"got nil"}
		case w.IsNil():
			return []string{"got a value, want nil"}
		}
		w, g = w.Elem(), g.Elem()
	}
	var out []string
	for i := range w.NumField() {
		if d := diffValue(w.Field(i), g.Field(i)); d != "" {
			out = append(out, w.Type().Field(i).Name+": "+d)
		}
	}
	return out
}

func diffValue(w, g reflect.Value) string {
	switch w.Type() {
	case timeType:
		return diffTime(w.Interface().(time.Time), g.Interface().(time.Time))
	case timePtrType:
		switch {
		case w.IsNil() && g.IsNil():
			return ""
		case w.IsNil():
			return fmt.Sprintf("got %v, want nil", g.Elem().Interface())
		case g.IsNil():
			return fmt.Sprintf("got nil, want %v", w.Elem().Interface())
		}
		return diffTime(w.Elem().Interface().(time.Time), g.Elem().Interface().(time.Time))
	}
	if w.Kind() == reflect.Slice && w.Len() == 0 && g.Len() == 0 {
		return ""
	}
	if !reflect.DeepEqual(w.Interface(), g.Interface()) {
		return fmt.Sprintf("got %#v, want %#v", g.Interface(), w.Interface())
	}
	return ""
}

func diffTime(want, got time.Time) string {
	if !got.Equal(want) {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	if got.Location() != time.UTC {
		return fmt.Sprintf("got location %v, want UTC", got.Location())
	}
	return ""
}
