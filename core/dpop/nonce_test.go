package dpop

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestNonces(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	n, err := NewNonces(key, "https://id.example.com")
	if err != nil {
		t.Fatal(err)
	}
	replica, _ := NewNonces(key, "https://id.example.com")
	otherKey, _ := NewNonces(bytes.Repeat([]byte{8}, 32), "https://id.example.com")
	otherIssuer, _ := NewNonces(key, "https://other.example.com")
	issued := n.Issue(testNow)
	flip := []byte(issued)
	flip[len(flip)-1] ^= 1

	tests := []struct {
		name  string
		by    *Nonces
		nonce string
		at    time.Time
		want  bool
	}{
		{name: "a fresh nonce is good", by: n, nonce: issued, at: testNow, want: true},
		{name: "another replica with the key accepts it", by: replica, nonce: issued, at: testNow.Add(time.Minute), want: true},
		{name: "it is good until its lifetime ends", by: n, nonce: issued, at: testNow.Add(NonceLifetime - time.Second), want: true},
		{name: "a replica whose clock is a little behind accepts it", by: replica, nonce: issued, at: testNow.Add(-nonceSkew), want: true},
		{name: "it expires after its lifetime", by: n, nonce: issued, at: testNow.Add(NonceLifetime)},
		{name: "a clock far behind refuses it", by: n, nonce: issued, at: testNow.Add(-nonceSkew - time.Second)},
		{name: "another key refuses it", by: otherKey, nonce: issued, at: testNow},
		{name: "another issuer refuses it", by: otherIssuer, nonce: issued, at: testNow},
		{name: "an altered nonce is refused", by: n, nonce: string(flip), at: testNow},
		{name: "an empty nonce is refused", by: n, nonce: "", at: testNow},
		{name: "a truncated nonce is refused", by: n, nonce: issued[:len(issued)-2], at: testNow},
		{name: "padding is refused", by: n, nonce: issued + "=", at: testNow},
		{name: "a line break is refused", by: n, nonce: issued[:10] + "\r\n" + issued[10:], at: testNow},
		{name: "a long nonce is refused", by: n, nonce: issued + strings.Repeat("A", 8), at: testNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.by.Check(tt.nonce, tt.at); got != tt.want {
				t.Fatalf("Check(%q) = %v, want %v", tt.nonce, got, tt.want)
			}
		})
	}
	t.Run("nonces of different seconds differ", func(t *testing.T) {
		if n.Issue(testNow) == n.Issue(testNow.Add(time.Second)) {
			t.Fatal("a new second gave the same nonce")
		}
	})
	t.Run("a short key is refused", func(t *testing.T) {
		if _, err := NewNonces(make([]byte, 16), "x"); err == nil {
			t.Fatal("NewNonces accepted a 16-byte key")
		}
	})
}
