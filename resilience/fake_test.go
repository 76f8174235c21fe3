package resilience

import (
	"context"
	"sync"
	"time"

	"oauth2-server.dev/ports"
)

// fakeStore records which methods were called and answers every one with
// err, or, when block is set, waits for the context to end.
type fakeStore struct {
	mu     sync.Mutex
	calls  []string
	err    error
	block  bool
	closed bool
}

var _ ports.Store = (*fakeStore)(nil)

func (f *fakeStore) set(err error, block bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.block = err, block
}

func (f *fakeStore) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeStore) hit(ctx context.Context, name string) error {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	err, block := f.err, f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (f *fakeStore) Ping(ctx context.Context) error { return f.hit(ctx, "Ping") }

func (f *fakeStore) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeStore) CreateClient(ctx context.Context, _ *ports.Client, _ ...ports.Event) error {
	return f.hit(ctx, "CreateClient")
}

func (f *fakeStore) GetClient(ctx context.Context, _, id string) (*ports.Client, error) {
	return &ports.Client{ID: id}, f.hit(ctx, "GetClient")
}

func (f *fakeStore) UpdateClient(ctx context.Context, _ *ports.Client, _ ...ports.Event) error {
	return f.hit(ctx, "UpdateClient")
}

func (f *fakeStore) DeleteClient(ctx context.Context, _, _ string, _ ...ports.Event) error {
	return f.hit(ctx, "DeleteClient")
}

func (f *fakeStore) ListClients(ctx context.Context, _ string, _ ports.Page) ([]*ports.Client, error) {
	return []*ports.Client{{ID: "c1"}}, f.hit(ctx, "ListClients")
}

func (f *fakeStore) CreateUser(ctx context.Context, _ *ports.User) error {
	return f.hit(ctx, "CreateUser")
}

func (f *fakeStore) GetUser(ctx context.Context, _, id string) (*ports.User, error) {
	return &ports.User{ID: id}, f.hit(ctx, "GetUser")
}

func (f *fakeStore) GetUserByUsername(ctx context.Context, _, username string) (*ports.User, error) {
	return &ports.User{Username: username}, f.hit(ctx, "GetUserByUsername")
}

func (f *fakeStore) ListUsers(ctx context.Context, _ string, _ ports.Page) ([]*ports.User, error) {
	return []*ports.User{{ID: "u1"}}, f.hit(ctx, "ListUsers")
}

func (f *fakeStore) EndUserSessions(ctx context.Context, _, _, _ string, _ ...ports.Event) ([]string, error) {
	return nil, f.hit(ctx, "EndUserSessions")
}

func (f *fakeStore) SetUserPassword(ctx context.Context, _, _, _, _ string, _ ...ports.Event) ([]string, error) {
	return nil, f.hit(ctx, "SetUserPassword")
}

func (f *fakeStore) DeleteUser(ctx context.Context, _, _ string, _ time.Time, _ ...ports.Event) (int, []string, error) {
	return 1, nil, f.hit(ctx, "DeleteUser")
}

func (f *fakeStore) CreateAuthRequest(ctx context.Context, _ *ports.AuthRequest) error {
	return f.hit(ctx, "CreateAuthRequest")
}

func (f *fakeStore) GetAuthRequest(ctx context.Context, _, id string, _ time.Time) (*ports.AuthRequest, error) {
	return &ports.AuthRequest{ID: id}, f.hit(ctx, "GetAuthRequest")
}

func (f *fakeStore) ConsumeAuthRequest(ctx context.Context, _, id string, _ time.Time) (*ports.AuthRequest, error) {
	return &ports.AuthRequest{ID: id}, f.hit(ctx, "ConsumeAuthRequest")
}

func (f *fakeStore) DeleteAuthRequest(ctx context.Context, _, _ string) error {
	return f.hit(ctx, "DeleteAuthRequest")
}

func (f *fakeStore) CreateAuthCode(ctx context.Context, _ *ports.AuthorizationCode, _ ...ports.Event) error {
	return f.hit(ctx, "CreateAuthCode")
}

func (f *fakeStore) GetAuthCode(ctx context.Context, _, hash string, _ time.Time) (*ports.AuthorizationCode, error) {
	return &ports.AuthorizationCode{Hash: hash, GrantID: "g1"}, f.hit(ctx, "GetAuthCode")
}

func (f *fakeStore) RedeemAuthCode(ctx context.Context, _, hash string, _ time.Time, _ ports.Redemption) (*ports.AuthorizationCode, error) {
	return &ports.AuthorizationCode{Hash: hash, GrantID: "g1"}, f.hit(ctx, "RedeemAuthCode")
}

func (f *fakeStore) CreateTokens(ctx context.Context, _ []*ports.Token, _ ...ports.Event) error {
	return f.hit(ctx, "CreateTokens")
}

func (f *fakeStore) GetToken(ctx context.Context, _, id string) (*ports.Token, error) {
	return &ports.Token{ID: id}, f.hit(ctx, "GetToken")
}

func (f *fakeStore) RotateRefreshToken(ctx context.Context, _, oldID string, _ time.Time, _ ports.Rotation) (*ports.Token, error) {
	return &ports.Token{ID: oldID}, f.hit(ctx, "RotateRefreshToken")
}

func (f *fakeStore) RevokeToken(ctx context.Context, _, _ string, _ time.Time, _ ...ports.Event) error {
	return f.hit(ctx, "RevokeToken")
}

func (f *fakeStore) RevokeGrant(ctx context.Context, _, _ string, _ time.Time, _ ...ports.Event) error {
	return f.hit(ctx, "RevokeGrant")
}

func (f *fakeStore) RevokeClientTokens(ctx context.Context, _, _ string, _ time.Time) (int, error) {
	return 2, f.hit(ctx, "RevokeClientTokens")
}

func (f *fakeStore) SessionClients(ctx context.Context, _, _ string) ([]string, error) {
	return []string{"c1"}, f.hit(ctx, "SessionClients")
}

func (f *fakeStore) CreateSession(ctx context.Context, _ *ports.Session, _ ...ports.Event) error {
	return f.hit(ctx, "CreateSession")
}

func (f *fakeStore) GetSession(ctx context.Context, _, id string, _ time.Time) (*ports.Session, error) {
	return &ports.Session{ID: id}, f.hit(ctx, "GetSession")
}

func (f *fakeStore) DeleteSession(ctx context.Context, _, _ string, _ ...ports.Event) error {
	return f.hit(ctx, "DeleteSession")
}

func (f *fakeStore) CountSessions(ctx context.Context, _ string, _ time.Time) (int, error) {
	return 0, f.hit(ctx, "CountSessions")
}

func (f *fakeStore) SaveConsent(ctx context.Context, _ *ports.Consent, _ ...ports.Event) error {
	return f.hit(ctx, "SaveConsent")
}

func (f *fakeStore) GetConsent(ctx context.Context, _, userID, _ string) (*ports.Consent, error) {
	return &ports.Consent{UserID: userID}, f.hit(ctx, "GetConsent")
}

func (f *fakeStore) DeleteConsent(ctx context.Context, _, _, _ string, _ ...ports.Event) error {
	return f.hit(ctx, "DeleteConsent")
}

func (f *fakeStore) ListConsents(ctx context.Context, _, userID string) ([]*ports.Consent, error) {
	return []*ports.Consent{{UserID: userID}}, f.hit(ctx, "ListConsents")
}

func (f *fakeStore) RevokeConsent(ctx context.Context, _, _, _ string, _ time.Time, _ ...ports.Event) (int, error) {
	return 1, f.hit(ctx, "RevokeConsent")
}

func (f *fakeStore) CreateKey(ctx context.Context, _ *ports.SigningKey, _ ...ports.Event) error {
	return f.hit(ctx, "CreateKey")
}

func (f *fakeStore) UpdateKey(ctx context.Context, _ *ports.SigningKey) error {
	return f.hit(ctx, "UpdateKey")
}

func (f *fakeStore) ListKeys(ctx context.Context, _ string) ([]*ports.SigningKey, error) {
	return []*ports.SigningKey{{ID: "k1"}}, f.hit(ctx, "ListKeys")
}

func (f *fakeStore) UseJTI(ctx context.Context, _, _ string, _, _ time.Time) error {
	return f.hit(ctx, "UseJTI")
}

func (f *fakeStore) CreateDeviceCode(ctx context.Context, _ *ports.DeviceCode) error {
	return f.hit(ctx, "CreateDeviceCode")
}

func (f *fakeStore) GetDeviceCodeByUserCode(ctx context.Context, _, userCode string, _ time.Time) (*ports.DeviceCode, error) {
	return &ports.DeviceCode{UserCode: userCode}, f.hit(ctx, "GetDeviceCodeByUserCode")
}

func (f *fakeStore) DecideDeviceCode(ctx context.Context, _, _, _, _, _ string, _, _ time.Time, _ *ports.Consent, _ ...ports.Event) error {
	return f.hit(ctx, "DecideDeviceCode")
}

func (f *fakeStore) PollDeviceCode(ctx context.Context, _, hash string, _ time.Time) (*ports.DeviceCode, error) {
	return &ports.DeviceCode{Hash: hash}, f.hit(ctx, "PollDeviceCode")
}

func (f *fakeStore) RedeemDeviceCode(ctx context.Context, _, hash string, _ time.Time) (*ports.DeviceCode, error) {
	return &ports.DeviceCode{Hash: hash}, f.hit(ctx, "RedeemDeviceCode")
}

func (f *fakeStore) CreateCIBARequest(ctx context.Context, _ *ports.CIBARequest, _ ...ports.Event) error {
	return f.hit(ctx, "CreateCIBARequest")
}

func (f *fakeStore) GetCIBARequestByDecision(ctx context.Context, _, decisionHash string, _ time.Time) (*ports.CIBARequest, error) {
	return &ports.CIBARequest{DecisionHash: decisionHash}, f.hit(ctx, "GetCIBARequestByDecision")
}

func (f *fakeStore) DecideCIBARequest(ctx context.Context, _, _, _, _ string, _, _ time.Time, _ *ports.Consent, _ ...ports.Event) error {
	return f.hit(ctx, "DecideCIBARequest")
}

func (f *fakeStore) PollCIBARequest(ctx context.Context, _, hash string, _ time.Time) (*ports.CIBARequest, error) {
	return &ports.CIBARequest{Hash: hash}, f.hit(ctx, "PollCIBARequest")
}

func (f *fakeStore) RedeemCIBARequest(ctx context.Context, _, hash string, _ time.Time) (*ports.CIBARequest, error) {
	return &ports.CIBARequest{Hash: hash}, f.hit(ctx, "RedeemCIBARequest")
}

func (f *fakeStore) PurgeExpired(ctx context.Context, _ string, _ time.Time, limit int) (int, error) {
	return limit, f.hit(ctx, "PurgeExpired")
}

func (f *fakeStore) ClaimEvents(ctx context.Context, _ int, _ time.Duration, _ time.Time) ([]ports.Event, error) {
	return []ports.Event{{ID: "e1"}}, f.hit(ctx, "ClaimEvents")
}

func (f *fakeStore) AckEvents(ctx context.Context, _ []string) error {
	return f.hit(ctx, "AckEvents")
}
