package core

import (
	"context"
	"errors"
	"fmt"
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

// TestOperatorErrorsAreProtocolErrors: what the operator's client and user
// calls refuse reaches the HTTP layer as a protocol error with the code,
// status and description a person sees, the store's error kept as cause.
func TestOperatorErrorsAreProtocolErrors(t *testing.T) {
	ctx := context.Background()
	p, store := newTestProvider(t, Config{})
	if _, err := p.AddUser(ctx, NewUser{Username: "ada", Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	down := fmt.Errorf("store: %w", ports.ErrUnavailable)
	tests := []struct {
		name       string
		fail       string // a store method made to fail with down
		call       func() error
		wantCode   string
		wantStatus int
		wantDesc   string
		wantCause  error
	}{
		{name: "an unknown client", call: func() error { _, err := p.Client(ctx, "nobody"); return err },
			wantCode: "invalid_request", wantStatus: 404, wantDesc: "no such client", wantCause: ports.ErrNotFound},
		{name: "deleting an unknown client", call: func() error { return p.DeleteClient(ctx, "nobody") },
			wantCode: "invalid_request", wantStatus: 404, wantDesc: "no such client", wantCause: ports.ErrNotFound},
		{name: "a client while the store is down", fail: "GetClient", call: func() error { _, err := p.Client(ctx, "c"); return err },
			wantCode: "server_error", wantStatus: 500, wantCause: ports.ErrUnavailable},
		{name: "the clients while the store is down", fail: "ListClients", call: func() error { _, err := p.Clients(ctx, ports.Page{}); return err },
			wantCode: "server_error", wantStatus: 500, wantCause: ports.ErrUnavailable},
		{name: "a taken username", call: func() error {
			_, err := p.AddUser(ctx, NewUser{Username: "ada", Password: "another long password"})
			return err
		}, wantCode: "invalid_request", wantStatus: 409, wantDesc: "the username is taken", wantCause: ports.ErrConflict},
		{name: "a short password", call: func() error {
			_, err := p.AddUser(ctx, NewUser{Username: "bob", Password: "short"})
			return err
		}, wantCode: "invalid_request", wantStatus: 400, wantDesc: "the password must have at least 12 characters"},
		{name: "a new password for an unknown user", call: func() error { return p.SetPassword(ctx, "nobody", "a new long passphrase") },
			wantCode: "invalid_request", wantStatus: 404, wantDesc: "no such user", wantCause: ports.ErrNotFound},
		{name: "deleting an unknown user", call: func() error { return p.DeleteUser(ctx, "nobody") },
			wantCode: "invalid_request", wantStatus: 404, wantDesc: "no such user", wantCause: ports.ErrNotFound},
		{name: "an unknown user", call: func() error { _, err := p.User(ctx, "nobody"); return err },
			wantCode: "invalid_request", wantStatus: 404, wantDesc: "no such user", wantCause: ports.ErrNotFound},
		{name: "the users while the store is down", fail: "ListUsers", call: func() error { _, err := p.Users(ctx, ports.Page{}); return err },
			wantCode: "server_error", wantStatus: 500, wantCause: ports.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a protocol error", func(t *testing.T) {
			if tt.fail != "" {
				store.fail(tt.fail, down)
				defer store.fail(tt.fail, nil)
			}
			err := tt.call()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a protocol error", err)
			}
			if e.Code != tt.wantCode || e.Status != tt.wantStatus || e.Description != tt.wantDesc {
				t.Fatalf("error = %q %d %q, want %q %d %q", e.Code, e.Status, e.Description, tt.wantCode, tt.wantStatus, tt.wantDesc)
			}
			if tt.wantCause != nil && !errors.Is(err, tt.wantCause) {
				t.Fatalf("error %v does not keep the cause %v", err, tt.wantCause)
			}
		})
	}
	t.Run("a store outage answers temporarily_unavailable", func(t *testing.T) {
		store.fail("GetUser", down)
		defer store.fail("GetUser", nil)
		_, err := p.User(ctx, "nobody")
		if e := AsError(err); e.Code != "temporarily_unavailable" || e.Status != 503 {
			t.Fatalf("AsError = %q %d, want temporarily_unavailable 503", e.Code, e.Status)
		}
	})
}
