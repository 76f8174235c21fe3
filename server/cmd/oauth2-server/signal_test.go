package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a log destination the test reads while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// field returns the value of key in the first log line whose message is
// msg, or "".
func (b *syncBuffer) field(msg, key string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	sc := bufio.NewScanner(strings.NewReader(b.buf.String()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			v, _ := m[key].(string)
			return v
		}
	}
	return ""
}

// TestServeDrainsOnSIGTERM runs the serve command and sends the process
// SIGTERM, as a container runtime does: /ready fails while the server
// still answers, and the command returns after the drain.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	const drain = 3 * time.Second
	t.Setenv("OAUTH2_DATABASE_URL", "sqlite:"+t.TempDir()+"/oauth2.db")
	t.Setenv("OAUTH2_ISSUER", "http://127.0.0.1:8080")
	t.Setenv("OAUTH2_ADDR", "127.0.0.1:0")
	t.Setenv("OAUTH2_KEY_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	t.Setenv("OAUTH2_SHUTDOWN_DRAIN", drain.String())
	t.Setenv("OAUTH2_EVENT_SINKS", "none")
	t.Setenv("OAUTH2_LOG_LEVEL", "info")

	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run([]string{"serve"}, io.Discard, logs) }()
	var addr string
	for deadline := time.Now().Add(60 * time.Second); addr == ""; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve returned before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not start listening")
		}
		addr = logs.field("listening", "addr")
	}
	base := "http://" + addr
	get := func(path string) (int, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get("/ready"); err != nil || code != http.StatusOK {
		t.Fatalf("/ready before SIGTERM: %d %v", code, err)
	}

	// The serve command catches SIGTERM from before it listens; the
	// signal does not reach the test binary's default handler.
	signalled := time.Now()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(drain / 2); ; time.Sleep(20 * time.Millisecond) {
		code, err := get("/ready")
		if err != nil {
			t.Fatalf("/ready after SIGTERM: %v (the listener closed at once)", err)
		}
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/ready still answers %d after SIGTERM", code)
		}
	}
	if code, err := get("/health"); err != nil || code != http.StatusOK {
		t.Fatalf("/health while draining: %d %v", code, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(drain + 30*time.Second):
		t.Fatal("serve did not return after SIGTERM")
	}
	if took := time.Since(signalled); took < drain {
		t.Fatalf("serve returned %v after SIGTERM, before the %v drain ended", took, drain)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("the listener is still open after serve returned")
	}
}
