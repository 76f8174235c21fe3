package mongostore

import (
	"os"
	"testing"

	"oauth2-server.dev/storage/mongo/mongotest"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }
