package core

import (
	"sync"
	"time"
)

// verifiedMax bounds the remembered tokens; past it the cache is emptied
// and fills again with the tokens in use.
const verifiedMax = 50_000

// verifiedTokens remembers JWT access tokens this server signed, by the
// digest of the whole token, so that introspection and UserInfo find a
// token's record without verifying its signature again: verifying a P-256
// signature costs about twice what signing does, and a resource server
// presents the same token many times. A token is remembered once it
// verified, until it expires; its record, read on every use, still says
// whether it was revoked.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	jti string
	exp time.Time
}

func newVerifiedTokens() *verifiedTokens {
	return &verifiedTokens{m: map[string]verifiedToken{}}
}

// get returns the jti of the token with the given digest if it was
// verified and has not expired at now.
func (v *verifiedTokens) get(digest string, now time.Time) (string, bool) {
	v.mu.RLock()
	e, ok := v.m[digest]
	v.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return "", false
	}
	return e.jti, true
}

func (v *verifiedTokens) put(digest, jti string, exp time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= verifiedMax {
		clear(v.m)
	}
	v.m[digest] = verifiedToken{jti: jti, exp: exp}
}
