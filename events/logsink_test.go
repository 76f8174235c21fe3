package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"oauth2-server.dev/events"
	"oauth2-server.dev/ports"
)

func TestLogSink(t *testing.T) {
	e := ports.Event{
		ID:       "ev-1",
		Time:     time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Type:     ports.EventLoginFailed,
		Tenant:   ports.DefaultTenant,
		Subject:  "alice",
		ClientID: "web",
		Data:     map[string]string{"reason": "bad_password", "attempt": "3"},
	}
	tests := []struct {
		name    string
		ctx     func() context.Context
		wantErr error
		want    map[string]any // fields of the "event" group
	}{
		{
			name: "writes one record per event with its fields grouped",
			ctx:  context.Background,
			want: map[string]any{
				"id": "ev-1", "type": "login.failed", "time": "2026-03-01T12:00:00Z",
				"tenant": "default", "subject": "alice", "client_id": "web",
				"data": map[string]any{"attempt": "3", "reason": "bad_password"},
			},
		},
		{
			name: "fails without writing once the context has ended",
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			sink := events.NewLogSink(slog.New(slog.NewJSONHandler(&buf, nil)))
			if err := sink.Send(tt.ctx(), []ports.Event{e}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send = %v, want %v", err, tt.wantErr)
			}
			if tt.want == nil {
				if buf.Len() != 0 {
					t.Errorf("logged %q", buf.String())
				}
				return
			}
			var rec struct {
				Msg   string         `json:"msg"`
				Event map[string]any `json:"event"`
			}
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not one JSON record: %v: %q", err, buf.String())
			}
			if rec.Msg != "event" {
				t.Errorf("msg = %q", rec.Msg)
			}
			got, _ := json.Marshal(rec.Event)
			want, _ := json.Marshal(tt.want)
			if !bytes.Equal(got, want) {
				t.Errorf("event group = %s\nwant %s", got, want)
			}
		})
	}
}

func TestLogSinkBelowTheLoggersLevelWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	sink := events.NewLogSink(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ev := ports.Event{ID: "ev-1", Type: ports.EventTokenIssued, Time: time.Now()}
	if err := sink.Send(context.Background(), []ports.Event{ev}); err != nil {
		t.Fatalf("Send = %v, want nil: the sink took the events", err)
	}
	if buf.Len() != 0 {
		t.Errorf("logged %q below the level", buf.String())
	}
}
