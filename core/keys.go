package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
)

// RotateKeys starts a key rotation for every algorithm now, with the
// configured propagation delay and grace period.
func (p *Provider) RotateKeys(ctx context.Context) ([]*keyset.Key, error) {
	return p.keys.Rotate(ctx, p.cfg.KeyPropagationDelay, p.cfg.KeyGracePeriod, p.keyRotated(ctx), keyset.Algorithms...)
}

// keyRotated describes a new key of a rotation for the store.
func (p *Provider) keyRotated(ctx context.Context) keyset.Describe {
	return func(k *keyset.Key) []ports.Event {
		return []ports.Event{p.event(ctx, ports.EventKeyRotated, "", "", KeyRotatedData(k))}
	}
}

// KeyRotatedData is the Data of a key.rotated event.
func KeyRotatedData(k *keyset.Key) map[string]string {
	return map[string]string{"kid": k.ID, "alg": k.Algorithm, "signs_from": k.NotBefore.Format(time.RFC3339)}
}

// MaintainKeys re-reads the key set from the store, so that a rotation made
// by another replica or by the command line is seen, and timed transitions
// (a new key starting to sign, an old one leaving the set) take effect. When
// automatic rotation is on and the newest key of an algorithm is older than
// the interval, it rotates; one replica wins the rotation of a period,
// through the store's single-use records.
func (p *Provider) MaintainKeys(ctx context.Context) error {
	if err := p.keys.Reload(ctx); err != nil {
		return err
	}
	every := p.cfg.KeyRotationInterval
	if every <= 0 {
		return nil
	}
	now := p.clock.Now()
	newest := map[string]time.Time{}
	for _, k := range p.keys.Keys() {
		if k.CreatedAt.After(newest[k.Algorithm]) {
			newest[k.Algorithm] = k.CreatedAt
		}
	}
	var due []string
	for _, alg := range keyset.Algorithms {
		if now.Sub(newest[alg]) >= every {
			due = append(due, alg)
		}
	}
	if len(due) == 0 {
		return nil
	}
	period := now.UnixNano() / int64(every)
	lock := "key-rotation:" + strconv.FormatInt(period, 10)
	err := p.store.UseJTI(ctx, p.cfg.Tenant, lock, now.Add(every), now)
	if errors.Is(err, ports.ErrAlreadyUsed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("key rotation lock: %w", err)
	}
	_, err = p.keys.Rotate(ctx, p.cfg.KeyPropagationDelay, p.cfg.KeyGracePeriod, p.keyRotated(ctx), due...)
	return err
}

// JWKSMaxAge is how long a relying party may cache the key set: no longer
// than the propagation delay, so a cache taken just before a rotation has
// expired by the time the new key signs.
func (p *Provider) JWKSMaxAge() time.Duration {
	return min(p.cfg.KeyPropagationDelay, 24*time.Hour)
}
