package mongotest

import "testing"

func TestWithDatabase(t *testing.T) {
	tests := []struct{ name, base, want string }{
		{"bare host", "mongodb://127.0.0.1:27017", "mongodb://127.0.0.1:27017/db1"},
		{"slash only", "mongodb://127.0.0.1:27017/", "mongodb://127.0.0.1:27017/db1"},
		{"database replaced, options kept", "mongodb://h1,h2/old?replicaSet=rs0", "mongodb://h1,h2/db1?replicaSet=rs0"},
		{"credentials keep authenticating against admin", "mongodb://u:p@h/", "mongodb://u:p@h/db1?authSource=admin"},
		{"credentials keep authenticating against the old database", "mongodb://u:p@h/old", "mongodb://u:p@h/db1?authSource=old"},
		{"explicit authSource kept", "mongodb+srv://u:p@cluster.example/old?authSource=x", "mongodb+srv://u:p@cluster.example/db1?authSource=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withDatabase(tt.base, "db1")
			if err != nil {
				t.Fatalf("withDatabase: %v", err)
			}
			if got != tt.want {
				t.Errorf("withDatabase(%q) = %q, want %q", tt.base, got, tt.want)
			}
		})
	}
	if _, err := withDatabase("postgres://h/db", "db1"); err == nil {
		t.Error("withDatabase accepted a postgres:// URL")
	}
}
