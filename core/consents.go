package core

import (
	"context"
	"errors"

	"oauth2-server.dev/ports"
)

// UserConsent is a client the user consented to, for the user to review.
type UserConsent struct {
	Consent *ports.Consent
	// Client is nil when the client was deleted after the consent.
	Client *ports.Client
}

// UserConsents returns the consents the user gave, ordered by client id,
// each with its client.
func (az *authorizationService) UserConsents(ctx context.Context, userID string) ([]UserConsent, error) {
	consents, err := az.store.ListConsents(ctx, az.settings.tenant, userID)
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	out := make([]UserConsent, 0, len(consents))
	for _, c := range consents {
		client, err := az.dir.client(ctx, c.ClientID)
		if err != nil && !errors.Is(err, ports.ErrNotFound) {
			return nil, ErrServerError.Wrap(err)
		}
		out = append(out, UserConsent{Consent: c, Client: client})
	}
	return out, nil
}

// RevokeConsent withdraws the user's consent to a client: the client asks
// for consent again at the next authorization, and every token it holds
// for the user, access and refresh, is revoked at once. Revoking a consent
// the user never gave is not an error.
func (az *authorizationService) RevokeConsent(ctx context.Context, userID, clientID string) error {
	revoked := az.event(ctx, ports.EventConsentRevoked, userID, clientID, nil)
	if _, err := az.store.RevokeConsent(ctx, az.settings.tenant, userID, clientID, az.clock.Now(), revoked); err != nil {
		return ErrServerError.Wrap(err)
	}
	return nil
}
