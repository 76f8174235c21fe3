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

// keySettings are the key schedule: when keys rotate, how long a new key
// is published before it signs, and how long a replaced one stays
// published.
type keySettings struct {
	tenant                                          string
	rotationInterval, propagationDelay, gracePeriod time.Duration
}

func (c Config) keySettings() keySettings {
	return keySettings{
		tenant: c.Tenant, rotationInterval: c.KeyRotationInterval,
		propagationDelay: c.KeyPropagationDelay, gracePeriod: c.KeyGracePeriod,
	}
}

// keyService owns the signing keys of one tenant: the key set, its
// rotation on demand and on schedule, and how long the published set may
// be cached.
type keyService struct {
	settings keySettings
	set      *keyset.Set
	clock    ports.Clock
	// locks records the rotation of each period, so that one replica
	// rotates it.
	locks  ports.JTIStore
	events *eventSource
}

// RotateKeys starts a key rotation for every algorithm now, with the
// configured propagation delay and grace period.
func (p *Provider) RotateKeys(ctx context.Context) ([]*keyset.Key, error) {
	return p.signing.rotate(ctx)
}

// MaintainKeys re-reads the key set from the store, so that a rotation made
// by another replica or by the command line is seen, and timed transitions
// (a new key starting to sign, an old one leaving the set) take effect. When
// automatic rotation is on and the newest key of an algorithm is older than
// the interval, it rotates; one replica wins the rotation of a period,
// through the store's single-use records.
func (p *Provider) MaintainKeys(ctx context.Context) error {
	return p.signing.maintain(ctx)
}

// JWKSMaxAge is how long a relying party may cache the key set: no longer
// than the propagation delay, so a cache taken just before a rotation has
// expired by the time the new key signs.
func (p *Provider) JWKSMaxAge() time.Duration {
	return p.signing.jwksMaxAge()
}

func (k *keyService) rotate(ctx context.Context) ([]*keyset.Key, error) {
	return k.set.Rotate(ctx, k.settings.propagationDelay, k.settings.gracePeriod, k.keyRotated(ctx), keyset.Algorithms...)
}

// keyRotated describes a new key of a rotation for the store.
func (k *keyService) keyRotated(ctx context.Context) keyset.Describe {
	return func(key *keyset.Key) []ports.Event {
		return []ports.Event{k.events.event(ctx, ports.EventKeyRotated, "", "", KeyRotatedData(key))}
	}
}

// KeyRotatedData is the Data of a key.rotated event.
func KeyRotatedData(k *keyset.Key) map[string]string {
	return map[string]string{"kid": k.ID, "alg": k.Algorithm, "signs_from": k.NotBefore.Format(time.RFC3339)}
}

func (k *keyService) maintain(ctx context.Context) error {
	if err := k.set.Reload(ctx); err != nil {
		return err
	}
	every := k.settings.rotationInterval
	if every <= 0 {
		return nil
	}
	now := k.clock.Now()
	newest := map[string]time.Time{}
	for _, key := range k.set.Keys() {
		if key.CreatedAt.After(newest[key.Algorithm]) {
			newest[key.Algorithm] = key.CreatedAt
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
	err := k.locks.UseJTI(ctx, k.settings.tenant, lock, now.Add(every), now)
	if errors.Is(err, ports.ErrAlreadyUsed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("key rotation lock: %w", err)
	}
	_, err = k.set.Rotate(ctx, k.settings.propagationDelay, k.settings.gracePeriod, k.keyRotated(ctx), due...)
	return err
}

func (k *keyService) jwksMaxAge() time.Duration {
	return min(k.settings.propagationDelay, 24*time.Hour)
}
