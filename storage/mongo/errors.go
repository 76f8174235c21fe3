package mongostore

import (
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"oauth2-server.dev/ports"
)

// translate turns a driver error into the ports sentinel it stands for, so
// that callers match with errors.Is and never see a driver type. op names
// the store operation for the log.
func translate(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("mongostore: %s: %w", op, ports.ErrNotFound)
	case mongo.IsDuplicateKeyError(err):
		// The server's text names the collection and index, which tells
		// an operator which key collided; the driver's type stays behind.
		return fmt.Errorf("mongostore: %s: %w (%s)", op, ports.ErrConflict, err.Error())
	default:
		return fmt.Errorf("mongostore: %s: %w", op, err)
	}
}

func notFound(op, why string) error {
	return fmt.Errorf("mongostore: %s: %s: %w", op, why, ports.ErrNotFound)
}

func alreadyUsed(op string) error {
	return fmt.Errorf("mongostore: %s: %w", op, ports.ErrAlreadyUsed)
}
