package core

import (
	"context"
	"sync"
	"time"

	"oauth2-server.dev/ports"
)

// memDevices is memStore's device code table, kept apart so the fake
// stays readable.
type memDevices struct {
	mu    sync.Mutex
	codes map[string]*ports.DeviceCode
}

func (s *memStore) devices() *memDevices {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deviceCodes == nil {
		s.deviceCodes = &memDevices{codes: map[string]*ports.DeviceCode{}}
	}
	return s.deviceCodes
}

func (s *memStore) CreateDeviceCode(_ context.Context, d *ports.DeviceCode) error {
	m := s.devices()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.codes {
		if e.Tenant == d.Tenant && (e.Hash == d.Hash || e.UserCode == d.UserCode) {
			return ports.ErrConflict
		}
	}
	c := *d
	m.codes[d.Hash] = &c
	return nil
}

func (s *memStore) find(tenant, userCode string) *ports.DeviceCode {
	for _, e := range s.devices().codes {
		if e.Tenant == tenant && e.UserCode == userCode {
			return e
		}
	}
	return nil
}

func (s *memStore) GetDeviceCodeByUserCode(_ context.Context, tenant, userCode string, now time.Time) (*ports.DeviceCode, error) {
	m := s.devices()
	m.mu.Lock()
	defer m.mu.Unlock()
	d := s.find(tenant, userCode)
	if d == nil || !now.Before(d.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	c := *d
	return &c, nil
}

func (s *memStore) DecideDeviceCode(_ context.Context, tenant, userCode, status, userID, sessionID string, authTime, now time.Time, consent *ports.Consent, evs ...ports.Event) error {
	if err := s.decideDeviceCode(tenant, userCode, status, userID, sessionID, authTime, now); err != nil {
		return err
	}
	if consent != nil {
		_ = s.saveConsent(consent)
	}
	s.record(evs)
	return nil
}

func (s *memStore) decideDeviceCode(tenant, userCode, status, userID, sessionID string, authTime, now time.Time) error {
	m := s.devices()
	m.mu.Lock()
	defer m.mu.Unlock()
	d := s.find(tenant, userCode)
	if d == nil || !now.Before(d.ExpiresAt) {
		return ports.ErrNotFound
	}
	if d.Status != ports.DevicePending {
		return ports.ErrAlreadyUsed
	}
	d.Status, d.UserID, d.SessionID, d.AuthTime = status, userID, sessionID, &authTime
	return nil
}

func (s *memStore) PollDeviceCode(_ context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	m := s.devices()
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.codes[hash]
	if !ok || d.Tenant != tenant || !now.Before(d.ExpiresAt) {
		return nil, ports.ErrNotFound
	}
	prev := *d
	d.LastPolledAt = &now
	return &prev, nil
}

func (s *memStore) RedeemDeviceCode(_ context.Context, tenant, hash string, now time.Time) (*ports.DeviceCode, error) {
	m := s.devices()
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.codes[hash]
	if !ok || d.Tenant != tenant || !now.Before(d.ExpiresAt) || d.Status != ports.DeviceApproved {
		return nil, ports.ErrNotFound
	}
	if d.UsedAt != nil {
		c := *d
		return &c, ports.ErrAlreadyUsed
	}
	d.UsedAt = &now
	c := *d
	return &c, nil
}
