package ratelimit

// Limits are the budgets of the server's route groups, one field per group
// so that configuration maps onto them one to one.
type Limits struct {
	// Token covers the endpoints clients call machine to machine: token,
	// revocation, introspection, PAR and device authorization. It applies
	// per client address and, separately, per client_id.
	Token Limit
	// UserInfo covers the userinfo endpoint, per client address.
	UserInfo Limit
	// Interactive covers the pages a person drives: authorize, login,
	// consent, device verification, logout and the admin console, per
	// client address.
	Interactive Limit
	// Registration covers dynamic client registration, per client address.
	Registration Limit
	// Failures is the FailureGuard budget of failed authentications per
	// key.
	Failures Limit
}

// DefaultLimits returns the limits the server runs with unless configured
// otherwise (also in dev mode):
//
//	Token         50/s, burst 100, per address and per client_id
//	UserInfo      50/s, burst 100, per address
//	Interactive   10/s, burst 20,  per address
//	Registration   1/s, burst 5,   per address
//	Failures       5/min, burst 10, per key
//
// They sit far above what one honest client or person does (a login is a
// handful of requests) and far below what a single address needs to hurt
// the server. Failed authentications get a budget that holds online
// guessing to about 7,200 attempts a day per address and per account.
func DefaultLimits() Limits {
	return Limits{
		Token:        PerSecond(50, 100),
		UserInfo:     PerSecond(50, 100),
		Interactive:  PerSecond(10, 20),
		Registration: PerSecond(1, 5),
		Failures:     PerMinute(5, 10),
	}
}

// Route groups as the server mounts them. Health, readiness, metrics,
// discovery, JWKS and static files are in none: they are cheap, cacheable
// or needed by the orchestrator under load, and load shedding guards them.
var (
	tokenPaths        = []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/par", "/oauth/device_authorization", "/oauth/bc-authorize"}
	userInfoPaths     = []string{"/oauth/userinfo"}
	interactivePaths  = []string{"/oauth/authorize", "/oauth/logout", "/login", "/consent", "/device", "/ciba", "/admin", "/admin/*"}
	registrationPaths = []string{"/oauth/register", "/oauth/register/*"}
)

// DefaultRules returns the rules for limits over the server's route groups.
// clientIP names the client's address as the server resolved it (trusted
// proxies only); the per-address rule of a group comes before its
// per-client rule so that one address cannot spend a client's budget faster
// than its own.
func DefaultRules(l Limits, clientIP KeyFunc) []Rule {
	return []Rule{
		{Name: "token_ip", Match: Paths(tokenPaths...), Limit: l.Token, Key: clientIP},
		{Name: "token_client", Match: Paths(tokenPaths...), Limit: l.Token, Key: ClientID},
		{Name: "userinfo_ip", Match: Paths(userInfoPaths...), Limit: l.UserInfo, Key: clientIP},
		{Name: "interactive_ip", Match: Paths(interactivePaths...), Limit: l.Interactive, Key: clientIP},
		{Name: "registration_ip", Match: Paths(registrationPaths...), Limit: l.Registration, Key: clientIP},
	}
}
