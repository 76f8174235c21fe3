package core

import (
	"slices"

	"oauth2-server.dev/core/keyset"
)

// Metadata is the authorization server metadata (RFC 8414 §2) and OpenID
// Provider metadata (OIDC Discovery §3). It advertises only what the server
// does.
func (p *Provider) Metadata() map[string]any {
	authMethods := []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
	signingAlgs := assertionAlgs
	if p.clientService.sealer != nil {
		authMethods = append(authMethods, AuthMethodSecretJWT)
		signingAlgs = append(slices.Clone(assertionAlgs), secretAssertionAlgs...)
	}
	// RFC 8705 §2: the certificate methods that work here.
	authMethods = append(authMethods, p.certificateAuthMethods()...)
	// OIDC Discovery §3: implicit is listed because the hybrid response
	// types need it at registration; the token endpoint has no such grant.
	grantTypes := append(p.GrantTypes(), GrantImplicit)
	m := map[string]any{
		"issuer":                                           p.cfg.Issuer,
		"authorization_endpoint":                           p.AuthorizationEndpoint(),
		"token_endpoint":                                   p.TokenEndpoint(),
		"userinfo_endpoint":                                p.UserinfoEndpoint(),
		"jwks_uri":                                         p.JWKSURI(),
		"scopes_supported":                                 StandardScopes,
		"response_types_supported":                         ResponseTypes,
		"response_modes_supported":                         ResponseModes,
		"grant_types_supported":                            grantTypes,
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            keyset.Algorithms,
		"token_endpoint_auth_methods_supported":            authMethods,
		"token_endpoint_auth_signing_alg_values_supported": signingAlgs,
		"introspection_endpoint":                           p.IntrospectionEndpoint(),
		"introspection_endpoint_auth_methods_supported":    authMethods,
		// RFC 9701 §7: JWT introspection responses.
		"introspection_signing_alg_values_supported": keyset.Algorithms,
		// JARM §3: signed, never encrypted, authorization responses.
		"authorization_signing_alg_values_supported": keyset.Algorithms,
		"revocation_endpoint":                        p.RevocationEndpoint(),
		"revocation_endpoint_auth_methods_supported": authMethods,
		"code_challenge_methods_supported":           []string{"S256"},
		"prompt_values_supported":                    []string{PromptNone, PromptLogin, PromptConsent},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid",
			"name", "given_name", "family_name", "preferred_username", "email", "email_verified"},
		"claim_types_supported":                          []string{"normal"},
		"authorization_response_iss_parameter_supported": true,
		// OIDC Discovery §3 defaults request_uri_parameter_supported to
		// true, so the refusals must be spelled out.
		"request_parameter_supported":                 true,
		"request_object_signing_alg_values_supported": assertionAlgs,
		// Remote request objects only when the operator allow-listed
		// hosts; then only from URLs clients registered.
		"request_uri_parameter_supported":       p.RemoteRequestURIs(),
		"pushed_authorization_request_endpoint": p.PAREndpoint(),
		"device_authorization_endpoint":         p.DeviceAuthorizationEndpoint(),
		"require_pushed_authorization_requests": p.cfg.RequirePAR,
		"claims_parameter_supported":            false,
		// RFC 9449 §5.1: DPoP at the token endpoint, UserInfo,
		// introspection, revocation and PAR.
		"dpop_signing_alg_values_supported": p.DPoPAlgorithms(),
		// RFC 8705 §3.3: certificate-bound access tokens, on the main
		// endpoints (no mtls_endpoint_aliases).
		"tls_client_certificate_bound_access_tokens": p.cfg.ClientCertificates,
	}
	// OIDC RP-Initiated, Front-Channel and Back-Channel Logout.
	m["end_session_endpoint"] = p.EndSessionEndpoint()
	m["frontchannel_logout_supported"] = true
	m["frontchannel_logout_session_supported"] = true
	m["backchannel_logout_supported"] = true
	m["backchannel_logout_session_supported"] = true
	if p.RemoteRequestURIs() {
		m["require_request_uri_registration"] = true
	}
	p.cibaMetadata(m)
	if p.RegistrationEnabled() {
		m["registration_endpoint"] = p.RegistrationEndpoint()
	}
	// RFC 9396 §10: the types the server accepts, only when it accepts
	// some.
	if len(p.cfg.AuthorizationDetailsTypes) > 0 {
		m["authorization_details_types_supported"] = p.AuthorizationDetailsTypes()
	}
	return m
}
