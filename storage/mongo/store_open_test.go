package mongostore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/ports"
	"oauth2-server.dev/storage/mongo/mongotest"
)

func TestOpenRejectsUnknownSchemes(t *testing.T) {
	tests := []struct{ name, url string }{
		{"empty", ""},
		{"postgres", "postgres://root:hunter2@db/oauth2"},
		{"sqlite", "sqlite:data/oauth2.db"},
		{"mongo without db", "mongo://root:hunter2@db/oauth2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.url, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			for _, want := range []string{"mongodb://", "mongodb+srv://"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name the accepted scheme %s", msg, want)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("error %q repeats the URL's password", msg)
			}
		})
	}
}

func TestOpenRejectsBadURLsWithoutEchoingThem(t *testing.T) {
	for _, u := range []string{
		"mongodb://root:hunter2@db/oauth2?maxPoolSize=many",
		"mongodb://root:hunter2@db/bad.name",
		"mongodb://root:hunter2@db:notaport/oauth2",
	} {
		t.Run(u, func(t *testing.T) {
			s, err := Open(t.Context(), u, Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q repeats the URL's password", err)
			}
		})
	}
}

func TestOpenRejectsNegativeOptions(t *testing.T) {
	for _, opts := range []Options{{MaxConns: -1}, {MinConns: -1}, {OperationTimeout: -1}} {
		if s, err := Open(t.Context(), "mongodb://127.0.0.1:1/x", opts); err == nil {
			s.Close()
			t.Errorf("Open accepted %+v", opts)
		}
	}
}

func TestOpenFailsWhenNoServerAnswers(t *testing.T) {
	s, err := Open(t.Context(), "mongodb://127.0.0.1:1/oauth2?serverSelectionTimeoutMS=200&connectTimeoutMS=200", Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded without a server")
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct{ url, want string }{
		{"mongodb://localhost", DefaultDatabase},
		{"mongodb://localhost/", DefaultDatabase},
		{"mongodb://localhost/?replicaSet=rs0", DefaultDatabase},
		{"mongodb://u:p@h1:27017,h2:27017/idp?replicaSet=rs0", "idp"},
		{"mongodb+srv://u:p@cluster.example/tenant_db", "tenant_db"},
		{"mongodb://%2Ftmp%2Fmongodb-27017.sock/idp", "idp"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := DatabaseName(tt.url)
			if err != nil {
				t.Fatalf("DatabaseName: %v", err)
			}
			if got != tt.want {
				t.Errorf("DatabaseName(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"localhost/idp", "mongodb://h/a.b", "mongodb://h/a%2Fb", "mongodb://h/a$b"} {
		if got, err := DatabaseName(bad); err == nil {
			t.Errorf("DatabaseName(%q) = %q, want an error", bad, got)
		}
	}
}

func TestOpenUsesTheURLDatabase(t *testing.T) {
	u := mongotest.URL(t)
	s, err := Open(t.Context(), u, Options{MaxConns: 4, MinConns: 1, OperationTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	want, err := DatabaseName(u)
	if err != nil {
		t.Fatalf("DatabaseName: %v", err)
	}
	if s.Database() != want {
		t.Errorf("Database() = %q, want %q", s.Database(), want)
	}
}

func TestErrorsCarryNoDriverTypes(t *testing.T) {
	s := openTestStore(t, Options{})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	u := &ports.User{ID: "u1", Tenant: "t", Username: "ada", CreatedAt: ports.SystemClock{}.Now()}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	err := s.CreateUser(t.Context(), u)
	if !errors.Is(err, ports.ErrConflict) {
		t.Fatalf("CreateUser again: %v, want ErrConflict", err)
	}
	if errors.Unwrap(err) != ports.ErrConflict {
		t.Errorf("conflict wraps %T, want only ports.ErrConflict", errors.Unwrap(err))
	}
	_, err = s.GetUser(t.Context(), "t", "u2")
	if errors.Unwrap(err) != ports.ErrNotFound {
		t.Errorf("not found wraps %T, want only ports.ErrNotFound", errors.Unwrap(err))
	}
}
