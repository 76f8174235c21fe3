package core

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
)

func TestErrorIs(t *testing.T) {
	cause := errors.New("row locked")
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{name: "described copy is its template", err: ErrInvalidGrant.WithDescription("code expired"), target: ErrInvalidGrant, want: true},
		{name: "wrapped copy is its template", err: ErrServerError.Wrap(cause), target: ErrServerError, want: true},
		{name: "wrapped copy is its cause", err: ErrServerError.Wrap(cause), target: cause, want: true},
		{name: "copy inside fmt wrapping is its template", err: fmt.Errorf("token: %w", ErrInvalidGrant.WithDescription("x")), target: ErrInvalidGrant, want: true},
		{name: "separately built error with the same code matches", err: &Error{Code: "invalid_grant", Status: http.StatusTeapot}, target: ErrInvalidGrant, want: true},
		{name: "other code does not match", err: ErrInvalidGrant.WithDescription("x"), target: ErrInvalidRequest},
		{name: "invalid_client is not invalid_client_metadata", err: ErrInvalidClient, target: ErrInvalidClientMetadata},
		{name: "plain error target does not match", err: ErrInvalidGrant, target: io.EOF},
		{name: "plain error is not a protocol error", err: io.EOF, target: ErrServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Fatalf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{name: "code alone without description", err: ErrInvalidScope, want: "invalid_scope"},
		{name: "code and description", err: ErrInvalidScope.WithDescription("scope foo is unknown"), want: "invalid_scope: scope foo is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestErrorCopiesNeverChangeTemplates(t *testing.T) {
	tests := []struct {
		name string
		make func() *Error
		tmpl *Error
	}{
		{name: "WithDescription", tmpl: ErrInvalidRequest, make: func() *Error { return ErrInvalidRequest.WithDescription("state is repeated") }},
		{name: "Wrap", tmpl: ErrServerError, make: func() *Error { return ErrServerError.Wrap(errors.New("disk full")) }},
		{name: "WithDescription after Wrap", tmpl: ErrInvalidClient, make: func() *Error {
			return ErrInvalidClient.Wrap(errors.New("wrong secret")).WithDescription("client authentication failed")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" returns a copy and leaves the template alone", func(t *testing.T) {
			before := *tt.tmpl
			got := tt.make()
			if got == tt.tmpl {
				t.Fatal("returned the template itself")
			}
			if *tt.tmpl != before {
				t.Fatalf("template changed: %+v, was %+v", *tt.tmpl, before)
			}
			if got.Code != before.Code || got.Status != before.Status {
				t.Errorf("copy has code %q status %d, want %q %d", got.Code, got.Status, before.Code, before.Status)
			}
		})
	}
	t.Run("WithDescription keeps the cause", func(t *testing.T) {
		cause := errors.New("wrong secret")
		e := ErrInvalidClient.Wrap(cause).WithDescription("client authentication failed")
		if !errors.Is(e, cause) || e.Description != "client authentication failed" {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("concurrent descriptions do not leak into each other", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]*Error, 50)
		for i := range errs {
			wg.Go(func() { errs[i] = ErrInvalidGrant.WithDescription(fmt.Sprint(i)) })
		}
		wg.Wait()
		for i, e := range errs {
			if e.Description != fmt.Sprint(i) {
				t.Fatalf("copy %d has description %q", i, e.Description)
			}
		}
		if ErrInvalidGrant.Description != "" {
			t.Fatalf("template picked up description %q", ErrInvalidGrant.Description)
		}
	})
}

func TestAsError(t *testing.T) {
	t.Run("unknown error becomes server_error and keeps its cause", func(t *testing.T) {
		cause := fmt.Errorf("pq: relation \"clients\" does not exist: %w", io.ErrUnexpectedEOF)
		e := AsError(cause)
		if e.Code != "server_error" || e.Status != http.StatusInternalServerError {
			t.Fatalf("AsError = %q %d, want server_error 500", e.Code, e.Status)
		}
		if e.Description != "" {
			t.Errorf("server_error carries the internal text %q to the client", e.Description)
		}
		if !errors.Is(e, io.ErrUnexpectedEOF) || e.Cause != cause {
			t.Errorf("cause not kept: %v", e.Cause)
		}
		if ErrServerError.Cause != nil {
			t.Errorf("the server_error template now holds cause %v", ErrServerError.Cause)
		}
	})
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantDesc string
	}{
		{name: "protocol error is returned as is", err: ErrInvalidScope.WithDescription("scope x"), wantCode: "invalid_scope", wantDesc: "scope x"},
		{name: "wrapped protocol error is found", err: fmt.Errorf("grant: %w", ErrInvalidGrant.WithDescription("code used")), wantCode: "invalid_grant", wantDesc: "code used"},
		{name: "template is returned as is", err: ErrAccessDenied, wantCode: "access_denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := AsError(tt.err)
			if e.Code != tt.wantCode || e.Description != tt.wantDesc {
				t.Fatalf("AsError = %q %q, want %q %q", e.Code, e.Description, tt.wantCode, tt.wantDesc)
			}
		})
	}
}
