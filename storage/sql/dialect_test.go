package sqlstore

import (
	"testing"
	"time"
)

func TestNumberPlaceholders(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"none", `SELECT 1`, `SELECT 1`},
		{"in order", `UPDATE t SET a = ? WHERE b = ? AND c > ?`, `UPDATE t SET a = $1 WHERE b = $2 AND c > $3`},
		{"quoted literal kept", `SELECT '?' FROM t WHERE a = ?`, `SELECT '?' FROM t WHERE a = $1`},
		{"quoted identifier kept", `SELECT "odd?" FROM t WHERE a = ? OR b = ?`, `SELECT "odd?" FROM t WHERE a = $1 OR b = $2`},
		{"escaped quote in literal", `SELECT 'it''s ?' WHERE a = ?`, `SELECT 'it''s ?' WHERE a = $1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := numberPlaceholders(tt.in); got != tt.want {
				t.Errorf("numberPlaceholders(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTimeColumnsRoundTrip(t *testing.T) {
	in := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*60*60))
	want := time.Date(2031, 5, 6, 5, 8, 9, 123456000, time.UTC)
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			s := &Store{dialect: d}
			var got time.Time
			if err := (timeCol{&got}).Scan(s.timeArg(in)); err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("round trip gave %v, want %v", got, want)
			}
			var null *time.Time
			if err := (nullTimeCol{&null}).Scan(s.nullTimeArg(nil)); err != nil || null != nil {
				t.Errorf("nil time came back as %v, %v", null, err)
			}
		})
	}
}
