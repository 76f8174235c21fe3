package storetest

import (
	"context"
	"testing"
	"time"

	"oauth2-server.dev/ports"
)

func newCIBARequest(tenant, hash, decisionHash string, at time.Time) *ports.CIBARequest {
	return &ports.CIBARequest{
		Hash:           hash,
		Tenant:         tenant,
		DecisionHash:   decisionHash,
		ClientID:       "client-" + hash,
		UserID:         "user-" + hash,
		Scope:          "openid profile",
		BindingMessage: "W4SCT",
		DeliveryMode:   ports.CIBAModePoll,
		Status:         ports.CIBAPending,
		Interval:       5 * time.Second,
		CreatedAt:      at,
		ExpiresAt:      at.Add(5 * time.Minute),
	}
}

// cibaDecided returns what r looks like once decided.
func cibaDecided(r *ports.CIBARequest, status, sessionID string, authTime time.Time) *ports.CIBARequest {
	r.Status, r.SessionID, r.AuthTime = status, sessionID, &authTime
	return r
}

// cibaRequests keeps the user a request names, not the one who decides:
// DecideCIBARequest takes no user.
var cibaRequests = pendingKind[ports.CIBARequest]{
	kind: "CIBARequest", noun: "CIBA request", nameNoun: "decision hash", name: "d1", otherName: "other-decision",
	newReq: newCIBARequest,
	nameOf: func(r *ports.CIBARequest) string { return r.DecisionHash },
	decided: func(r *ports.CIBARequest, status, _, sessionID string, authTime time.Time) *ports.CIBARequest {
		return cibaDecided(r, status, sessionID, authTime)
	},
	with: func(r *ports.CIBARequest, clientID string, lastPolled, used *time.Time) *ports.CIBARequest {
		if clientID != "" {
			r.ClientID = clientID
		}
		if lastPolled != nil {
			r.LastPolledAt = lastPolled
		}
		if used != nil {
			r.UsedAt = used
		}
		return r
	},
	expiry: func(r *ports.CIBARequest) time.Time { return r.ExpiresAt },
	usedAt: func(r *ports.CIBARequest) *time.Time { return r.UsedAt },
	create: func(ctx context.Context, s ports.Store, r *ports.CIBARequest) error {
		return s.CreateCIBARequest(ctx, r)
	},
	get: ports.Store.GetCIBARequestByDecision,
	decide: func(ctx context.Context, s ports.Store, tenant, decisionHash, status, _, sessionID string, authTime, now time.Time, consent *ports.Consent) error {
		return s.DecideCIBARequest(ctx, tenant, decisionHash, status, sessionID, authTime, now, consent)
	},
	poll:     ports.Store.PollCIBARequest,
	redeem:   ports.Store.RedeemCIBARequest,
	approved: ports.CIBAApproved, denied: ports.CIBADenied,
	readBack: []pendingCase[ports.CIBARequest]{
		{"pending poll-mode request", func(at time.Time) *ports.CIBARequest { return newCIBARequest(tenantA, "h1", "d1", at) }},
		{"ping-mode request with every optional field set", func(at time.Time) *ports.CIBARequest {
			r := cibaDecided(newCIBARequest(tenantA, "h2", "d2", at), ports.CIBAApproved, "s1", at.Add(-time.Minute))
			r.DeliveryMode = ports.CIBAModePing
			r.Ping = []byte{0, 1, 2, 0xfe, 0xff}
			r.BindingMessage = "Überweisung 42 € – ok?"
			r.Interval = 7*time.Second + 250*time.Millisecond
			r.LastPolledAt = ptr(at.Add(time.Second))
			r.UsedAt = ptr(at.Add(2 * time.Second))
			return r
		}},
		{"request without binding message", func(at time.Time) *ports.CIBARequest {
			r := newCIBARequest(tenantA, "h3", "d3", at)
			r.BindingMessage = ""
			return r
		}},
	},
	unknownNames: []lookup{
		{"unknown decision hash", tenantA, "nothing"},
		{"the auth_req_id hash is not a decision hash", tenantA, "h1"},
		{"decision hash of another tenant", tenantB, "d1"},
	},
	unknownHashes: []lookup{
		{"unknown hash", tenantA, "h2"},
		{"the decision hash is not an auth_req_id hash", tenantA, "d1"},
		{"hash of another tenant", tenantB, "h1"},
	},
}

func testCIBARequests(t *testing.T, open opener) {
	testPending(t, open, cibaRequests)

	t.Run("poll of an expired request returns it, so that expiry can be told from an unknown id", func(t *testing.T) {
		s := open(t)
		at := baseTime()
		r := newCIBARequest(tenantA, "h1", "d1", at)
		mustNil(t, s.CreateCIBARequest(t.Context(), r), "CreateCIBARequest")
		for _, now := range []time.Time{r.ExpiresAt, r.ExpiresAt.Add(time.Hour)} {
			got, err := s.PollCIBARequest(t.Context(), tenantA, "h1", now)
			mustNil(t, err, "PollCIBARequest after expiry")
			if got.Hash != "h1" || !got.ExpiresAt.Equal(r.ExpiresAt) {
				t.Fatalf("PollCIBARequest after expiry returned %+v", got)
			}
		}
	})
}
