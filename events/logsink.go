package events

import (
	"context"
	"log/slog"
	"maps"
	"slices"

	"oauth2-server.dev/ports"
)

// LogSink writes each event as one structured log record, for operators
// who collect logs and want an audit trail without running a broker.
type LogSink struct {
	logger *slog.Logger
	level  slog.Level
}

var _ Sink = (*LogSink)(nil)

// NewLogSink logs at level Info through logger (slog.Default() if nil).
func NewLogSink(logger *slog.Logger) *LogSink {
	if logger == nil {
		logger = slog.Default()
	}
	return &LogSink{logger: logger, level: slog.LevelInfo}
}

// Name returns "log".
func (s *LogSink) Name() string { return "log" }

// Send logs every event under the message "event", its fields in a group
// named "event". It fails only when ctx has ended, since a handler that
// cannot write has no way to say so.
func (s *LogSink) Send(ctx context.Context, events []ports.Event) error {
	// Below the logger's level the records would be dropped: build none.
	if !s.logger.Enabled(ctx, s.level) {
		return ctx.Err()
	}
	for _, e := range events {
		if err := ctx.Err(); err != nil {
			return err
		}
		attrs := []any{
			slog.String("id", e.ID),
			slog.String("type", e.Type),
			slog.Time("time", e.Time),
		}
		for _, f := range [...]struct{ key, value string }{
			{"tenant", e.Tenant}, {"subject", e.Subject}, {"client_id", e.ClientID}, {"trace_id", e.TraceID},
		} {
			if f.value != "" {
				attrs = append(attrs, slog.String(f.key, f.value))
			}
		}
		if len(e.Data) > 0 {
			data := make([]any, 0, len(e.Data))
			// Sorted so that two records of one event read the same.
			for _, k := range slices.Sorted(maps.Keys(e.Data)) {
				data = append(data, slog.String(k, e.Data[k]))
			}
			attrs = append(attrs, slog.Group("data", data...))
		}
		s.logger.LogAttrs(ctx, s.level, "event", slog.Group("event", attrs...))
	}
	return nil
}
