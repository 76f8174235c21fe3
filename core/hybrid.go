package core

import (
	"context"
	"net/url"
	"strconv"

	"oauth2-server.dev/ports"
)

// frontChannelTokens mints the tokens a hybrid response type returns from
// the authorization endpoint beside the code (OIDC Core §3.3.2.5), adds
// them to the response parameters q and names the kinds it issued.
//
// The access token of "token" is recorded like every other and belongs to
// the code's grant, so a replayed code revokes it with the rest (RFC 6749
// §4.1.2); it never comes with a refresh token. The ID token of "id_token"
// carries c_hash, and at_hash beside an access token (OIDC Core
// §3.3.2.11), but no claims of the profile or email scopes: the client
// gets those from the token endpoint and userinfo, not through the
// browser (OIDC Core §5.4).
func (az *authorizationService) frontChannelTokens(ctx context.Context, req *AuthorizeRequest, sess *ports.Session, rec *ports.AuthorizationCode, code string, q url.Values) ([]string, error) {
	authTime := sess.AuthTime
	ip := issueParams{
		grantType: GrantImplicit, client: req.Client, grantID: rec.GrantID, subject: sess.UserID,
		scope: rec.Scope, sessionID: sess.ID, authTime: &authTime, nonce: req.Nonce,
		noRefresh: true, noIDToken: true, audiences: req.Resources, resources: req.Resources,
		// RFC 9396 §9.1: the front-channel access token carries what the
		// user approved, as the code's tokens do.
		details: rec.AuthorizationDetails,
	}
	var kinds []string
	var accessToken string
	if responseTypeHas(req.ResponseType, "token") {
		resp, err := az.mint.issue(ctx, ip, createTokens(ctx, az.store))
		if err != nil {
			return nil, AsError(err)
		}
		accessToken = resp.AccessToken
		q.Set("access_token", resp.AccessToken)
		q.Set("token_type", resp.TokenType)
		q.Set("expires_in", strconv.FormatInt(resp.ExpiresIn, 10))
		q.Set("scope", resp.Scope)
		kinds = append(kinds, ports.TokenAccess)
	}
	if responseTypeHas(req.ResponseType, "id_token") {
		ip.code, ip.frontChannel = code, true
		idt, err := az.mint.idToken(ctx, ip, accessToken, az.clock.Now())
		if err != nil {
			return nil, err
		}
		q.Set("id_token", idt)
		kinds = append(kinds, "id_token")
	}
	return kinds, nil
}
