package core

import (
	"context"
	"sync"
	"time"

	"oauth2-server.dev/ports"
)

// memCIBA is memStore's table of backchannel authentication requests, kept
// apart so the fake stays readable.
type memCIBA struct {
	mu   sync.Mutex
	reqs map[string]*ports.CIBARequest // by tenant and hash
}

func (s *memStore) ciba() *memCIBA {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cibaReqs == nil {
		s.cibaReqs = &memCIBA{reqs: map[string]*ports.CIBARequest{}}
	}
	return s.cibaReqs
}

func cloneCIBA(r *ports.CIBARequest) *ports.CIBARequest {
	c := *r
	c.Ping = append([]byte(nil), r.Ping...)
	return &c
}

func (m *memCIBA) byDecision(tenant, decisionHash string) *ports.CIBARequest {
	for _, r := range m.reqs {
		if r.Tenant == tenant && r.DecisionHash == decisionHash {
			return r
		}
	}
	return nil
}

func (s *memStore) CreateCIBARequest(_ context.Context, r *ports.CIBARequest, evs ...ports.Event) error {
	m := s.ciba()
	m.mu.Lock()
	if m.reqs[memKey(r.Tenant, r.Hash)] != nil || m.byDecision(r.Tenant, r.DecisionHash) != nil {
		m.mu.Unlock()
		return ports.ErrConflict
	}
	m.reqs[memKey(r.Tenant, r.Hash)] = cloneCIBA(r)
	m.mu.Unlock()
	s.record(evs)
	return nil
}

func (s *memStore) GetCIBARequestByDecision(_ context.Context, tenant, decisionHash string, now time.Time) (*ports.CIBARequest, error) {
	m := s.ciba()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.byDecision(tenant, decisionHash)
	if r == nil || !now.Before(r.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	return cloneCIBA(r), nil
}

func (s *memStore) DecideCIBARequest(_ context.Context, tenant, decisionHash, status, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	m := s.ciba()
	m.mu.Lock()
	r := m.byDecision(tenant, decisionHash)
	switch {
	case r == nil || !now.Before(r.ExpiresAt):
		m.mu.Unlock()
		return ports.ErrNotFound
	case r.Status != ports.CIBAPending:
		m.mu.Unlock()
		return ports.ErrAlreadyUsed
	}
	r.Status, r.SessionID, r.AuthTime = status, sessionID, &authTime
	m.mu.Unlock()
	if consent != nil {
		_ = s.saveConsent(consent)
	}
	s.record(evs)
	return nil
}

func (s *memStore) PollCIBARequest(_ context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	m := s.ciba()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[memKey(tenant, hash)]
	if !ok {
		return nil, ports.ErrNotFound
	}
	prev := cloneCIBA(r)
	r.LastPolledAt = &now
	return prev, nil
}

func (s *memStore) RedeemCIBARequest(_ context.Context, tenant, hash string, now time.Time) (*ports.CIBARequest, error) {
	m := s.ciba()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[memKey(tenant, hash)]
	switch {
	case !ok:
		return nil, ports.ErrNotFound
	case r.UsedAt != nil:
		return cloneCIBA(r), ports.ErrAlreadyUsed
	case !now.Before(r.ExpiresAt) || r.Status != ports.CIBAApproved:
		return nil, ports.ErrNotFound
	}
	r.UsedAt = &now
	return cloneCIBA(r), nil
}
