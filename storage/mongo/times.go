package mongostore

import "time"

// Times are stored as int64 Unix microseconds. BSON dates hold
// milliseconds, which would lose the microseconds ports times carry;
// integers keep them, compare and sort as the instants do, and index well.
// Like sqlstore, values are truncated, not rounded.

func micros(t time.Time) int64 { return t.UTC().Truncate(time.Microsecond).UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros stores a nil time as BSON null. The field is always written,
// so that a filter on null matches it.
func nullMicros(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := micros(*t)
	return &v
}

func fromNullMicros(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMicros(*v)
	return &t
}
