package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"oauth2-server.dev/ports/faultproxy"
)

// echoServer answers every connection with the bytes it receives and counts
// the connections it accepted.
type echoServer struct {
	ln       net.Listener
	accepted atomic.Int32
}

func newEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return e
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial the proxy: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads as many bytes back, waiting at most wait.
func roundTrip(c net.Conn, msg string, wait time.Duration) (string, error) {
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	return read(c, len(msg), wait)
}

func read(c net.Conn, n int, wait time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, n)
	_, err := io.ReadFull(c, buf)
	return string(buf), err
}

// silence is how long a test listens to be sure nothing comes back; an
// answer through a working proxy on loopback takes microseconds.
const silence = 200 * time.Millisecond

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func TestPassForwardsBothWays(t *testing.T) {
	p := faultproxy.New(t, newEcho(t).ln.Addr().String())
	c := dial(t, p.Addr())
	for _, msg := range []string{"ping", string(bytes.Repeat([]byte("x"), 100<<10))} {
		got, err := roundTrip(c, msg, 5*time.Second)
		if err != nil || got != msg {
			t.Fatalf("echo of %d bytes through the proxy = %d bytes, %v", len(msg), len(got), err)
		}
	}
}

func TestBlackHole(t *testing.T) {
	t.Run("accepts new connections and never answers", func(t *testing.T) {
		echo := newEcho(t)
		p := faultproxy.New(t, echo.ln.Addr().String())
		p.SetMode(faultproxy.BlackHole)
		c := dial(t, p.Addr())
		if _, err := roundTrip(c, "ping", silence); !isTimeout(err) {
			t.Fatalf("read through a black hole = %v, want a timeout with the connection still open", err)
		}
		if n := echo.accepted.Load(); n != 0 {
			t.Fatalf("the target saw %d connections through a black hole, want none", n)
		}
	})
	t.Run("stalls open connections without closing them", func(t *testing.T) {
		p := faultproxy.New(t, newEcho(t).ln.Addr().String())
		c := dial(t, p.Addr())
		if _, err := roundTrip(c, "before", 5*time.Second); err != nil {
			t.Fatalf("echo before the black hole: %v", err)
		}
		p.SetMode(faultproxy.BlackHole)
		if _, err := roundTrip(c, "during", silence); !isTimeout(err) {
			t.Fatalf("read on a black-holed connection = %v, want a timeout", err)
		}
	})
	t.Run("delivers what it held once passing again", func(t *testing.T) {
		p := faultproxy.New(t, newEcho(t).ln.Addr().String())
		p.SetMode(faultproxy.BlackHole)
		c := dial(t, p.Addr())
		if _, err := roundTrip(c, "held", silence); !isTimeout(err) {
			t.Fatalf("read through a black hole = %v, want a timeout", err)
		}
		p.SetMode(faultproxy.Pass)
		if got, err := read(c, len("held"), 5*time.Second); err != nil || got != "held" {
			t.Fatalf("after the black hole the connection read %q, %v; want the held bytes", got, err)
		}
	})
}

func TestRefuse(t *testing.T) {
	t.Run("resets new connections", func(t *testing.T) {
		echo := newEcho(t)
		p := faultproxy.New(t, echo.ln.Addr().String())
		p.SetMode(faultproxy.Refuse)
		// The reset may reach the client while it connects, or at its
		// first read.
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err == nil {
			defer c.Close()
			_, err = roundTrip(c, "ping", 5*time.Second)
		}
		if err == nil || isTimeout(err) {
			t.Fatalf("read through a refusing proxy = %v, want the connection ended at once", err)
		}
		if n := echo.accepted.Load(); n != 0 {
			t.Fatalf("the target saw %d connections through a refusing proxy, want none", n)
		}
	})
	t.Run("resets open connections, black-holed ones too", func(t *testing.T) {
		p := faultproxy.New(t, newEcho(t).ln.Addr().String())
		c := dial(t, p.Addr())
		if _, err := roundTrip(c, "before", 5*time.Second); err != nil {
			t.Fatalf("echo before refusing: %v", err)
		}
		p.SetMode(faultproxy.BlackHole)
		p.SetMode(faultproxy.Refuse)
		if _, err := read(c, 1, 5*time.Second); err == nil || isTimeout(err) {
			t.Fatalf("read on a connection the proxy refused = %v, want the connection ended at once", err)
		}
	})
	t.Run("passes new connections once passing again", func(t *testing.T) {
		p := faultproxy.New(t, newEcho(t).ln.Addr().String())
		p.SetMode(faultproxy.Refuse)
		p.SetMode(faultproxy.Pass)
		if got, err := roundTrip(dial(t, p.Addr()), "ping", 5*time.Second); err != nil || got != "ping" {
			t.Fatalf("echo after refusing = %q, %v", got, err)
		}
	})
}

func TestCloseEndsEveryConnection(t *testing.T) {
	p := faultproxy.New(t, newEcho(t).ln.Addr().String())
	open := dial(t, p.Addr())
	if _, err := roundTrip(open, "ping", 5*time.Second); err != nil {
		t.Fatalf("echo: %v", err)
	}
	p.SetMode(faultproxy.BlackHole)
	stalled := dial(t, p.Addr())
	_, _ = stalled.Write([]byte("ping"))
	p.Close()
	for name, c := range map[string]net.Conn{"open": open, "stalled": stalled} {
		if _, err := read(c, 1, 5*time.Second); err == nil || isTimeout(err) {
			t.Errorf("%s connection after Close: read = %v, want it ended", name, err)
		}
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Error("the proxy still accepts connections after Close")
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[faultproxy.Mode]string{faultproxy.Pass: "pass", faultproxy.Refuse: "refuse", faultproxy.BlackHole: "black-hole"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}
