package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/server/internal/app"
)

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("OAUTH2_DATABASE_URL", "sqlite:"+dir+"/oauth2.db")
	t.Setenv("OAUTH2_LOG_LEVEL", "error")

	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "help lists the commands", args: []string{"--help"}, want: []string{"serve", "migrate", "keys list", "clients list", "users list"}},
		{name: "migrate status before migrating shows pending", args: []string{"migrate", "status", "--dev"}, want: []string{"VERSION", "pending"}},
		{name: "migrate up applies", args: []string{"migrate", "up", "--dev"}, want: []string{"migrations applied", "applied 20"}},
		{name: "migrate again is a no-op", args: []string{"migrate", "--dev"}, want: []string{"migrations applied"}},
		{name: "keys list before first start", args: []string{"keys", "list", "--dev"}, want: []string{"no signing keys yet"}},
		{name: "keys rotate publishes a new key per algorithm", args: []string{"keys", "rotate", "--dev"}, want: []string{"NEW KID", "ES256", "RS256", "PS256", "EdDSA"}},
		{name: "keys list shows the new keys pending beside the active ones", args: []string{"keys", "list", "--dev"}, want: []string{"active", "published, signs from"}},
		{name: "clients list on an empty store", args: []string{"clients", "list", "--dev"}, want: []string{"CLIENT_ID", "(none)"}},
		{name: "users list on an empty store", args: []string{"users", "list", "--dev"}, want: []string{"USERNAME", "(none)"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantErr: "unknown command"},
		{name: "outside dev mode a key-encryption key is required", args: []string{"migrate", "status"}, wantErr: "OAUTH2_KEY_ENCRYPTION_KEY is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(tc.args, &out, &errOut)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("run %v: %v\n%s", tc.args, err, errOut.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

// TestKeysRotateEvents: the key.rotated events a rotation from the command
// line writes wait in the outbox for a server's relay, unless no event sink
// is configured, when nothing would ever take them out.
func TestKeysRotateEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sinks string
		want  int
	}{
		{name: "with the default log sink one event per new key waits in the outbox", sinks: "", want: len(keyset.Algorithms)},
		{name: "with no sink the outbox stays empty", sinks: "none", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OAUTH2_DATABASE_URL", "sqlite:"+t.TempDir()+"/oauth2.db")
			t.Setenv("OAUTH2_LOG_LEVEL", "error")
			t.Setenv("OAUTH2_EVENT_SINKS", tc.sinks)
			var out, errOut bytes.Buffer
			if err := run([]string{"keys", "rotate", "--dev"}, &out, &errOut); err != nil {
				t.Fatalf("keys rotate: %v\n%s", err, errOut.String())
			}
			cfg, err := config.Load("", true, os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			st, err := app.OpenStore(t.Context(), cfg, false)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			evs, err := st.ClaimEvents(t.Context(), 100, time.Minute, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tc.want {
				t.Fatalf("the outbox holds %d events, want %d", len(evs), tc.want)
			}
			for _, e := range evs {
				if e.Type != ports.EventKeyRotated {
					t.Errorf("event %s in the outbox, want only %s", e.Type, ports.EventKeyRotated)
				}
			}
		})
	}
}
