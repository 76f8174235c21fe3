package resilience

import (
	"context"
	"sync"
	"testing"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/storage/memory"
)

// faults is the fault hook the tests give the in-memory store: it records
// which methods were called and answers every one with err, or, when
// block is set, waits for the caller's context to end.
type faults struct {
	mu    sync.Mutex
	calls []string
	err   error
	block bool
}

func (f *faults) hook(ctx context.Context, method string) error {
	f.mu.Lock()
	f.calls = append(f.calls, method)
	err, block := f.err, f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (f *faults) set(err error, block bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.block = err, block
}

func (f *faults) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// newStore returns an in-memory store holding a record for each call of
// storeCalls to find, so that every one succeeds, and the faults hook that
// has seen none of the calls yet.
func newStore(t *testing.T) (*memory.Store, *faults) {
	t.Helper()
	f := &faults{}
	s := memory.New(memory.Options{Fault: f.hook})
	ctx := t.Context()
	exp := now.Add(time.Hour)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seeding the store: %v", err)
		}
	}
	must(s.CreateClient(ctx, &ports.Client{Tenant: "t", ID: "c"}))
	must(s.CreateUser(ctx, &ports.User{Tenant: "t", ID: "u", Username: "u"}))
	must(s.CreateAuthRequest(ctx, &ports.AuthRequest{Tenant: "t", ID: "r", ExpiresAt: exp}))
	must(s.CreateAuthCode(ctx, &ports.AuthorizationCode{Tenant: "t", Hash: "h", GrantID: "g1", ExpiresAt: exp}))
	must(s.CreateTokens(ctx, []*ports.Token{
		{Tenant: "t", ID: "id", Kind: ports.TokenAccess, GrantID: "g", ExpiresAt: exp},
		{Tenant: "t", ID: "old", Kind: ports.TokenRefresh, GrantID: "g", ExpiresAt: exp},
	}))
	must(s.CreateSession(ctx, &ports.Session{Tenant: "t", ID: "s", UserID: "u", ExpiresAt: exp}))
	must(s.SaveConsent(ctx, &ports.Consent{Tenant: "t", UserID: "u", ClientID: "c"}))
	must(s.CreateKey(ctx, &ports.SigningKey{Tenant: "t", ID: "k"}))
	// One request of each kind waits for a decision, the other is approved
	// and waits to be polled and redeemed.
	must(s.CreateDeviceCode(ctx, &ports.DeviceCode{Tenant: "t", Hash: "h-pending", UserCode: "ABCD", Status: ports.DevicePending, ExpiresAt: exp}))
	must(s.CreateDeviceCode(ctx, &ports.DeviceCode{Tenant: "t", Hash: "h", UserCode: "EFGH", Status: ports.DeviceApproved, ExpiresAt: exp}))
	must(s.CreateCIBARequest(ctx, &ports.CIBARequest{Tenant: "t", Hash: "h-pending", DecisionHash: "d", Status: ports.CIBAPending, ExpiresAt: exp}))
	must(s.CreateCIBARequest(ctx, &ports.CIBARequest{Tenant: "t", Hash: "h", DecisionHash: "d-approved", Status: ports.CIBAApproved, ExpiresAt: exp}))
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
	return s, f
}
