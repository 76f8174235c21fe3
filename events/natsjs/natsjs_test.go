package natsjs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"oauth2-server.dev/events/internal/servicetest"
	"oauth2-server.dev/events/natsjs"
	"oauth2-server.dev/ports"
)

func newEvents(n int) []ports.Event {
	out := make([]ports.Event, n)
	for i := range out {
		out[i] = ports.Event{
			ID:       ports.NewEventID(),
			Time:     time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC),
			Type:     ports.EventConsentGranted,
			Subject:  "user-1",
			ClientID: "client-1",
			Data:     map[string]string{"scope": "openid profile"},
		}
	}
	return out
}

// testStream names a stream and a subject prefix unique to this run and
// deletes the stream when the test ends.
func testStream(t *testing.T, js jetstream.JetStream) (stream, prefix string) {
	stream = servicetest.Unique("OAUTH2TEST")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream %s: %v", stream, err)
		}
	})
	return stream, "oauth2test." + stream
}

func newJetStream(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	nc := servicetest.NATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func TestEnsureStream(t *testing.T) {
	nc, js := newJetStream(t)
	tests := []struct {
		name           string
		existing       *jetstream.StreamConfig // created before the sink runs
		wantDuplicates time.Duration
		wantMaxAge     time.Duration
	}{
		{name: "creates an absent stream with the sink's windows", wantDuplicates: 3 * time.Minute, wantMaxAge: time.Hour},
		{name: "leaves an existing stream as the operator configured it", existing: &jetstream.StreamConfig{Duplicates: time.Minute, MaxAge: 2 * time.Hour}, wantDuplicates: time.Minute, wantMaxAge: 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, prefix := testStream(t, js)
			if tt.existing != nil {
				cfg := *tt.existing
				cfg.Name, cfg.Subjects = stream, []string{prefix + ".>"}
				if _, err := js.CreateStream(t.Context(), cfg); err != nil {
					t.Fatal(err)
				}
			}
			sink, err := natsjs.New(natsjs.Config{Conn: nc, Stream: stream, SubjectPrefix: prefix, Duplicates: 3 * time.Minute, MaxAge: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if err := sink.Send(t.Context(), newEvents(1)); err != nil {
				t.Fatal(err)
			}
			s, err := js.Stream(t.Context(), stream)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if info.Config.Duplicates != tt.wantDuplicates || info.Config.MaxAge != tt.wantMaxAge {
				t.Errorf("stream duplicates %v max age %v, want %v %v", info.Config.Duplicates, info.Config.MaxAge, tt.wantDuplicates, tt.wantMaxAge)
			}
			if info.State.Msgs != 1 {
				t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
			}
		})
	}
}

func TestJetStreamDropsResentEvents(t *testing.T) {
	nc, js := newJetStream(t)
	stream, prefix := testStream(t, js)
	sink, err := natsjs.New(natsjs.Config{Conn: nc, Stream: stream, SubjectPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	evs := newEvents(3)
	// The second Send is what a relay does after a lost acknowledgement.
	for range 2 {
		if err := sink.Send(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
	// And one more by hand, to see JetStream name it a duplicate.
	msg := nats.NewMsg(sink.Subject(evs[0].Type))
	msg.Data = []byte(`{}`)
	msg.Header.Set(jetstream.MsgIDHeader, evs[0].ID)
	ack, err := js.PublishMsg(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if !ack.Duplicate {
		t.Errorf("JetStream stored a message whose Nats-Msg-Id it had seen: %+v", ack)
	}

	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(len(evs)) {
		t.Fatalf("stream holds %d messages after resends, want %d", info.State.Msgs, len(evs))
	}
	for i, e := range evs {
		raw, err := s.GetMsg(t.Context(), uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		got, err := natsjs.Decode(raw.Data)
		if err != nil {
			t.Fatal(err)
		}
		if raw.Header.Get(jetstream.MsgIDHeader) != e.ID || got.ID != e.ID || raw.Subject != prefix+".consent.granted" {
			t.Errorf("message %d: id header %q, body id %q, subject %q; want %q on %s.consent.granted",
				i+1, raw.Header.Get(jetstream.MsgIDHeader), got.ID, raw.Subject, e.ID, prefix)
		}
	}
}

func TestSendFailsOnAClosedConnection(t *testing.T) {
	nc, err := nats.Connect(servicetest.NATSURL(t))
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	sink, err := natsjs.New(natsjs.Config{Conn: nc, Stream: servicetest.Unique("OAUTH2TEST")})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Send(t.Context(), newEvents(1)); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Errorf("Send = %v, want nats.ErrConnectionClosed", err)
	}
}

func ExampleNew() {
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		fmt.Println("no NATS here:", err)
		return
	}
	defer nc.Close()
	sink, err := natsjs.New(natsjs.Config{Conn: nc})
	if err != nil {
		panic(err)
	}
	// Subscribers take everything with oauth2.events.> or one kind with,
	// say, oauth2.events.token.*.
	fmt.Println(sink.Subject(ports.EventTokenIssued))
}
