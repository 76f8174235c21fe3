package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table from the definition of the settings")

// readmePath is the README whose "## Configuration" section holds the
// table.
const readmePath = "../README.md"

// configurationTable finds the table of the "## Configuration" section:
// the text before it, the table, and the text after it.
func configurationTable(t *testing.T, readme string) (before, table, after string) {
	t.Helper()
	start := strings.Index(readme, "\n## Configuration\n")
	if start < 0 {
		t.Fatalf("%s has no \"## Configuration\" section", readmePath)
	}
	head := strings.Index(readme[start:], "\n| variable | default | meaning |\n")
	if head < 0 {
		t.Fatalf("%s: the \"## Configuration\" section has no table", readmePath)
	}
	from := start + head + 1
	to := from
	for to < len(readme) && readme[to] == '|' {
		to += strings.IndexByte(readme[to:], '\n') + 1
	}
	return readme[:from], readme[from:to], readme[to:]
}

func TestREADMEConfigurationTable(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	before, got, after := configurationTable(t, string(b))
	want := table()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(readmePath, []byte(before+want+after), 0o644); err != nil { // #nosec G306 -- the README is public
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's configuration table differs from the settings' definition (config/settings.go); "+
		"run go generate ./config, or paste this table:\n\n%s", want)
}

func TestConfigurationTableRows(t *testing.T) {
	rows := strings.Split(strings.TrimSuffix(table(), "\n"), "\n")
	tests := []struct {
		name string
		row  string
	}{
		{name: "a dev default follows the default", row: "| `OAUTH2_ADDR` | `:8080` (dev: `localhost:8080`) | listen address |"},
		{name: "a setting without a default says none", row: "| `OAUTH2_NATS_URL` | none | NATS server of the `nats` sink |"},
		{name: "durations read as operators write them", row: "| `OAUTH2_KEY_ROTATION_INTERVAL` | `2160h` | automatic signing key rotation; `0` turns it off |"},
		{name: "settings that go together share a row", row: "| `OAUTH2_DB_MAX_CONNS`, `OAUTH2_DB_MIN_CONNS` | `20`, `2` | PostgreSQL pool size |"},
		{name: "budgets read as they are written", row: "| `OAUTH2_RATE_LIMIT_FAILURES` | `5/m:10` | failed client or user authentications per address, client and username |"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range rows {
				if r == tt.row {
					return
				}
			}
			t.Fatalf("no row %s in\n%s", tt.row, table())
		})
	}
	t.Run("every setting is documented", func(t *testing.T) {
		for _, s := range settings {
			if d := s.docs(); !strings.Contains(table(), code(d.env)) || !d.sameRow && d.meaning == "" {
				t.Errorf("%s has no row or no meaning", d.env)
			}
		}
	})
}
