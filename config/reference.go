package config

import "strings"

// table renders the README's configuration table from the definition of
// the settings: one row per setting, or per pair of settings that go
// together, in the definition's order.
func table() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	var rows [][3]string
	// custom says a row's default was written for the whole row.
	var custom []bool
	for _, s := range settings {
		d := s.docs()
		if d.sameRow && len(rows) > 0 {
			row := &rows[len(rows)-1]
			row[0] += ", " + code(d.env)
			if !custom[len(rows)-1] && row[1] != d.defaults {
				row[1] += ", " + d.defaults
			}
			continue
		}
		rows = append(rows, [3]string{code(d.env), d.defaults, d.meaning})
		custom = append(custom, d.custom)
	}
	for _, r := range rows {
		b.WriteString("| " + r[0] + " | " + r[1] + " | " + r[2] + " |\n")
	}
	return b.String()
}
