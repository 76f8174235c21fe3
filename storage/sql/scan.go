package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"

	"oauth2-server.dev/ports"
)

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// encodeList stores a slice as a JSON array; nil and empty both become [].
func encodeList(v []string) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func decodeList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("corrupt JSON list %q: %w", s, err)
	}
	return v, nil
}

// collect reads every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// limitArg is the LIMIT of a query for page: no bound for a Limit of 0.
func limitArg(page ports.Page) int64 {
	if page.Limit <= 0 {
		return math.MaxInt64
	}
	return int64(page.Limit)
}
