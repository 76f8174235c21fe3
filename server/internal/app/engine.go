package app

import (
	"crypto/x509"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core"
)

// engineConfig hands the engine its settings, as the configuration
// parsed and defaulted them; clientCAs are the CAs of the client CA file.
func engineConfig(cfg *config.Config, clientCAs *x509.CertPool) core.Config {
	return core.Config{
		Issuer:                    cfg.Server.Issuer,
		AccessTokenAlg:            cfg.Tokens.AccessTokenAlg,
		AccessTokenTTL:            cfg.Tokens.AccessTokenTTL,
		RefreshTokenTTL:           cfg.Tokens.RefreshTokenTTL,
		IDTokenTTL:                cfg.Tokens.IDTokenTTL,
		CodeTTL:                   cfg.Tokens.CodeTTL,
		SessionTTL:                cfg.Tokens.SessionTTL,
		KeyRotationInterval:       cfg.Keys.RotationInterval,
		KeyPropagationDelay:       cfg.Keys.PropagationDelay,
		KeyGracePeriod:            cfg.Keys.GracePeriod,
		RegistrationToken:         cfg.Registration.Token,
		ScopeAllowList:            cfg.Registration.ScopeAllowList,
		RequirePAR:                cfg.Protocol.RequirePAR,
		DPoPNonce:                 cfg.Protocol.DPoPNonce,
		TrustedIssuers:            trustedIssuers(cfg.Protocol.TrustedIssuers),
		RequestURIHosts:           cfg.Protocol.RequestURIHosts,
		AuthorizationDetailsTypes: cfg.Protocol.AuthorizationDetailsTypes,
		OutboundPrivateNetworks:   cfg.Outbound.PrivateNetworks,
		ClientCertificates:        cfg.TLS.ClientCertificates(),
		ClientCAs:                 clientCAs,
	}
}

func trustedIssuers(list []config.TrustedIssuer) []core.TrustedIssuer {
	out := make([]core.TrustedIssuer, 0, len(list))
	for _, t := range list {
		out = append(out, core.TrustedIssuer{Issuer: t.Issuer, JWKS: t.JWKS, JWKSURI: t.JWKSURI, Clients: t.Clients})
	}
	return out
}
