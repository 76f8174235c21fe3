package core

import (
	"context"
	"errors"
	"strings"
	"testing"

	"oauth2-server.dev/ports"
)

func TestAddUser(t *testing.T) {
	ctx := context.Background()
	p, _ := newTestProvider(t, Config{})
	if _, err := p.AddUser(ctx, NewUser{Username: "ada", Password: "correct horse battery", Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		user    NewUser
		wantErr string // part of the error
		want    error
	}{
		{name: "a taken username", user: NewUser{Username: "ada", Password: "another long password"}, want: ports.ErrConflict},
		{name: "no username", user: NewUser{Username: "  ", Password: "another long password"}, wantErr: "the username is required"},
		{name: "a username with a space", user: NewUser{Username: "ada lovelace", Password: "another long password"}, wantErr: "must not contain spaces"},
		{name: "a short password", user: NewUser{Username: "bob", Password: "short pass"}, wantErr: "at least 12 characters"},
		{name: "an email without @", user: NewUser{Username: "bob", Password: "another long password", Email: "bob.example.com"}, wantErr: "email address is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, err := p.AddUser(ctx, tt.user)
			if tt.want != nil && !errors.Is(err, tt.want) || tt.wantErr != "" && (!errors.As(err, new(*InvalidUserError)) || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("AddUser: %v", err)
			}
		})
	}
	t.Run("the user signs in, and after a new password only with it", func(t *testing.T) {
		u, err := p.CheckPassword(ctx, "ada", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.SetPassword(ctx, u.ID, "tiny"); !errors.As(err, new(*InvalidUserError)) {
			t.Fatalf("a short new password: %v", err)
		}
		if err := p.SetPassword(ctx, u.ID, "a new long passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.CheckPassword(ctx, "ada", "correct horse battery"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("the old password: %v", err)
		}
		if _, err := p.CheckPassword(ctx, "ada", "a new long passphrase"); err != nil {
			t.Fatalf("the new password: %v", err)
		}
		if err := p.SetPassword(ctx, "nobody", "a new long passphrase"); !errors.Is(err, ports.ErrNotFound) {
			t.Fatalf("an unknown user: %v", err)
		}
	})
}
