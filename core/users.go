package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"oauth2-server.dev/ports"
)

// MinPasswordLength is the shortest password the operator may give a user
// (NIST SP 800-63B asks at least 8; the seed user needs 12 outside dev
// mode, and so does everybody else).
const MinPasswordLength = 12

// maxUsernameLength bounds a username in bytes.
const maxUsernameLength = 128

// NewUser is a person the operator adds.
type NewUser struct {
	Username, Password                 string
	Name, GivenName, FamilyName, Email string
	EmailVerified                      bool
}

// InvalidUserError is what AddUser and SetPassword answer for bad input.
type InvalidUserError struct {
	// Problem says what is wrong, in words for the operator.
	Problem string
}

func (e *InvalidUserError) Error() string { return "invalid user: " + e.Problem }

func invalidUser(format string, a ...any) error {
	return &InvalidUserError{Problem: fmt.Sprintf(format, a...)}
}

func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return invalidUser("the password must have at least %d characters", MinPasswordLength)
	}
	return nil
}

// Errors a person sees about a user the operator changes.
var (
	errUsernameTaken = &Error{Code: "invalid_request", Description: "the username is taken", Status: http.StatusConflict}
	errNoSuchUser    = &Error{Code: "invalid_request", Description: "no such user", Status: http.StatusNotFound}
)

// userError is the protocol error of a refused change to a user: an
// invalid_request carrying the problem with the input (400), a taken
// username (409) or an unknown user (404); anything else is the server's
// (server_error, or temporarily_unavailable while the store is down, as
// AsError tells). The cause stays wrapped for errors.Is and errors.As.
func userError(err error) error {
	var invalid *InvalidUserError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &invalid):
		return ErrInvalidRequest.WithDescription(invalid.Problem).Wrap(err)
	case errors.Is(err, ports.ErrConflict):
		return errUsernameTaken.Wrap(err)
	case errors.Is(err, ports.ErrNotFound):
		return errNoSuchUser.Wrap(err)
	}
	return ErrServerError.Wrap(err)
}

// AddUser creates a user who signs in with the username and password.
// Errors are protocol errors (see userError) wrapping an *InvalidUserError
// for a bad username, password or email, or ports.ErrConflict when the
// username is taken.
func (s *sessionService) AddUser(ctx context.Context, n NewUser) (*ports.User, error) {
	u, err := s.addUser(ctx, n)
	return u, userError(err)
}

func (s *sessionService) addUser(ctx context.Context, n NewUser) (*ports.User, error) {
	n.Username = strings.TrimSpace(n.Username)
	switch {
	case n.Username == "":
		return nil, invalidUser("the username is required")
	case len(n.Username) > maxUsernameLength:
		return nil, invalidUser("the username must have at most %d bytes", maxUsernameLength)
	case strings.IndexFunc(n.Username, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return nil, invalidUser("the username must not contain spaces or control characters")
	case n.Email != "" && (strings.Count(n.Email, "@") != 1 || strings.HasPrefix(n.Email, "@") || strings.HasSuffix(n.Email, "@")):
		return nil, invalidUser("the email address is not valid")
	}
	if err := checkPassword(n.Password); err != nil {
		return nil, err
	}
	u := &ports.User{
		Username: n.Username, Name: n.Name, GivenName: n.GivenName, FamilyName: n.FamilyName,
		Email: n.Email, EmailVerified: n.EmailVerified,
	}
	if err := s.CreateUser(ctx, u, n.Password); err != nil {
		return nil, err
	}
	return u, nil
}

// Users returns the users ordered by username, the part of them page
// selects.
func (s *sessionService) Users(ctx context.Context, page ports.Page) ([]*ports.User, error) {
	users, err := s.store.ListUsers(ctx, s.settings.tenant, page)
	if err != nil {
		return nil, ErrServerError.Wrap(err)
	}
	return users, nil
}

// SetPassword gives the user a new password for the operator; the old one
// stops working at once and every session of the user ends, the relying
// parties holding tokens from them told over the back channel. Errors are
// protocol errors (see userError) wrapping an *InvalidUserError for a
// password too short, or ports.ErrNotFound for an unknown user.
func (s *sessionService) SetPassword(ctx context.Context, userID, password string) error {
	return userError(s.setPassword(ctx, userID, password, ""))
}

// setPassword replaces the password and ends the user's sessions but keep.
func (s *sessionService) setPassword(ctx context.Context, userID, password, keep string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	h, err := s.passwords.Hash(password)
	if err != nil {
		return err
	}
	changed := s.event(ctx, ports.EventPasswordChanged, userID, "", nil)
	ended, err := s.store.SetUserPassword(ctx, s.settings.tenant, userID, h, keep, changed)
	if err != nil {
		return err
	}
	s.sessionsEnded(ctx, userID, ended)
	return nil
}

// DeleteUser deletes a user for the operator: the user can no longer sign
// in, their sessions end (the relying parties holding tokens from them are
// told over the back channel), their consents go, and every token issued
// for them is revoked at once. A protocol error (see userError) wrapping
// ports.ErrNotFound for an unknown user.
func (s *sessionService) DeleteUser(ctx context.Context, userID string) error {
	deleted := s.event(ctx, ports.EventUserDeleted, userID, "", nil)
	_, ended, err := s.store.DeleteUser(ctx, s.settings.tenant, userID, s.clock.Now(), deleted)
	if err != nil {
		return userError(err)
	}
	s.sessionsEnded(ctx, userID, ended)
	return nil
}

// ChangePassword is a person changing their own password in the session
// sessionID: the current one must be right (ErrBadCredentials otherwise),
// the new one is checked as SetPassword checks it, and every other session
// of theirs ends, as SetPassword ends them.
func (s *sessionService) ChangePassword(ctx context.Context, userID, sessionID, current, next string) error {
	u, err := s.store.GetUser(ctx, s.settings.tenant, userID)
	if err != nil {
		return err
	}
	ok, err := s.passwords.Verify(u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return ErrBadCredentials
	}
	return s.setPassword(ctx, userID, next, sessionID)
}
