package core

import (
	"context"
	"encoding/base64"
	"net/url"
	"testing"
)

// FuzzRequestObject feeds arbitrary request parameters to the request
// object parser: it must never panic, and nothing unsigned by a registered
// client may come out as authorization parameters.
func FuzzRequestObject(f *testing.F) {
	enc := base64.RawURLEncoding
	seeds := []string{
		"",
		"a.b.c",
		"eyJ.x.y",
		enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(`{"iss":"rp","client_id":"rp"}`)) + ".",
		enc.EncodeToString([]byte(`{"alg":"ES256","kid":"k"}`)) + "." + enc.EncodeToString([]byte(`{"iss":"rp","client_id":"rp","aud":"x","exp":1e300}`)) + ".AAAA",
		enc.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + enc.EncodeToString([]byte(`{"client_id":["rp"]}`)) + ".sig",
		"a.b.c.d.e",
	}
	for _, s := range seeds {
		f.Add(s, "rp")
	}
	p, store := newTestProvider(f, Config{})
	meta := []byte(`{"grant_types":["client_credentials"],"token_endpoint_auth_method":"client_secret_basic"}`)
	c, err := p.buildClient(meta)
	if err != nil {
		f.Fatal(err)
	}
	c.ID = "rp"
	if err := store.CreateClient(context.Background(), c); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, request, clientID string) {
		params, err := p.requestObjectParams(context.Background(), url.Values{"request": {request}, "client_id": {clientID}})
		if err == nil {
			t.Fatalf("an unsigned or foreign request object was accepted: %v", params)
		}
	})
}
