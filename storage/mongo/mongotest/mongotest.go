package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EnvURL names the environment variable that points the tests at a real
// MongoDB deployment instead of the in-process FerretDB. Its database
// part is ignored: every test gets a database of its own.
const EnvURL = "OAUTH2_TEST_MONGO_URL"

// server is the one test server of the process.
type server struct {
	base   string        // mongodb:// URL of the server
	client *mongo.Client // drops the databases handed out

	// Set when FerretDB runs in process.
	dir  string
	stop context.CancelFunc
	done chan struct{}

	mu   sync.Mutex
	live int // databases handed out and not dropped yet
}

var (
	startOnce sync.Once
	started   *server
	startErr  error
)

// get starts the test server on first use. One server serves every test of
// the binary: starting FerretDB is cheap, but the databases on one server
// are what keeps tests apart.
func get() (*server, error) {
	startOnce.Do(func() { started, startErr = start() })
	return started, startErr
}

func start() (*server, error) {
	s := &server{base: os.Getenv(EnvURL)}
	if s.base == "" {
		if err := s.startFerretDB(); err != nil {
			return nil, err
		}
	}
	client, err := mongo.Connect(options.Client().ApplyURI(s.base))
	if err != nil {
		s.shutdown()
		return nil, fmt.Errorf("mongotest: connect to the test server: %w", err)
	}
	s.client = client
	return s, nil
}

func (s *server) startFerretDB() error {
	dir, err := os.MkdirTemp("", "oauth2-ferretdb-")
	if err != nil {
		return fmt.Errorf("mongotest: %w", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:  "sqlite",
		// One SQLite file per database in dir. Durability is worth
		// nothing to a test server, and fsync on every commit is most of
		// its write time.
		SQLiteURL: "file:" + dir + "/?_pragma=synchronous(OFF)",
		// Errors only: FerretDB logs every failed command, endSessions
		// included, as a warning, but a panic in its handler as an error.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		_ = os.RemoveAll(dir) // FerretDB's error is the one to report
		return fmt.Errorf("mongotest: start FerretDB: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.dir, s.stop, s.done = dir, cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		_ = f.Run(ctx)
	}()
	// Blocks until Run has the listener up.
	s.base = f.MongoDBURI()
	return nil
}

// shutdown stops an in-process server and removes its files.
func (s *server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.client != nil {
		_ = s.client.Disconnect(ctx)
	}
	if s.stop != nil {
		s.stop()
		select {
		case <-s.done:
		case <-ctx.Done():
		}
	}
	if s.dir != "" {
		// The tests have run; files left in the temporary directory
		// change no result.
		_ = os.RemoveAll(s.dir)
	}
}

// acquire makes sure the in-process server's directory exists for one more
// database. release removes it, empty, once the last database is dropped:
// a test binary without Main, whose server outlives every test, then
// leaves nothing behind. The directory is made again for the next
// database; FerretDB needs it only to create and open database files.
func (s *server) acquire() error {
	if s.dir == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("mongotest: %w", err)
	}
	s.live++
	return nil
}

func (s *server) release() {
	if s.dir == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live--; s.live == 0 {
		_ = os.Remove(s.dir) // fails, harmlessly, if a drop left a file behind
	}
}

// Main runs a package's tests and then stops the in-process server, if one
// was started, and removes its files. Without it the server lives until
// the test binary exits.
//
//	func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if started != nil {
		started.shutdown()
	}
	return code
}

// NewDatabase names a database of its own on the test server, which it
// starts on first use, and returns a mongodb:// URL for it together with a
// function that drops it. Tests call URL instead; NewDatabase serves
// examples and other code without a testing.TB.
func NewDatabase() (databaseURL string, drop func(context.Context) error, err error) {
	s, err := get()
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	name := "oauth2test_" + hex.EncodeToString(b)
	u, err := withDatabase(s.base, name)
	if err != nil {
		return "", nil, err
	}
	if err := s.acquire(); err != nil {
		return "", nil, err
	}
	var once sync.Once
	drop = func(ctx context.Context) error {
		err := s.client.Database(name).Drop(ctx)
		once.Do(s.release)
		return err
	}
	return u, drop, nil
}

// URL returns a mongodb:// URL naming a database of its own on the test
// server, which it starts on first use, and drops the database when tb's
// test ends.
func URL(tb testing.TB) string {
	tb.Helper()
	u, drop, err := NewDatabase()
	if err != nil {
		tb.Fatalf("mongotest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			tb.Errorf("mongotest: drop test database: %v", err)
		}
	})
	return u
}

// withDatabase replaces the database of a mongodb:// or mongodb+srv://
// URL with name and keeps its options. A URL with credentials authenticates
// against its database unless authSource says otherwise, so the original
// one (admin if none) becomes authSource.
func withDatabase(base, name string) (string, error) {
	scheme, rest, ok := strings.Cut(base, "://")
	if !ok || !strings.HasPrefix(scheme, "mongodb") {
		return "", fmt.Errorf("mongotest: %s is not a mongodb:// URL", EnvURL)
	}
	hosts, path, _ := strings.Cut(rest, "/")
	oldDB, rawQuery, _ := strings.Cut(path, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("mongotest: %s: bad options", EnvURL)
	}
	if strings.Contains(hosts, "@") && !q.Has("authSource") {
		if oldDB == "" {
			oldDB = "admin"
		}
		q.Set("authSource", oldDB)
	}
	u := scheme + "://" + hosts + "/" + name
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u, nil
}
