package faultproxy

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// Mode is what the proxy does with connections.
type Mode int

const (
	// Pass forwards bytes both ways, as if the proxy were not there.
	Pass Mode = iota
	// Refuse resets new connections as soon as they are accepted, and
	// resets the open ones at once: a server that is down and says so.
	Refuse
	// BlackHole accepts new connections and stalls every connection: no
	// byte is forwarded either way and nothing is closed, as when a
	// server hangs or a network drops packets silently. Bytes held back
	// are forwarded once the mode is Pass again.
	BlackHole
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case BlackHole:
		return "black-hole"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// dialTimeout bounds the connection to the target, which is on loopback
// and answers at once or not at all.
const dialTimeout = 5 * time.Second

// Proxy is a TCP proxy to one target address. It is safe for concurrent
// use.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	mode   Mode
	closed bool
	// changed is closed, and replaced, on every change of mode, waking
	// the connections that wait for the mode to leave BlackHole.
	changed chan struct{}
	links   map[*link]struct{}
	wg      sync.WaitGroup
}

// link is one client connection and its connection to the target, which
// is dialed when the first bytes may pass.
type link struct {
	client net.Conn
	once   sync.Once
	server net.Conn
	err    error
}

// New starts a proxy to target (host:port) on 127.0.0.1 with a port of its
// own, in mode Pass. It closes, with every connection through it, when tb
// ends.
func New(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("faultproxy: listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, changed: make(chan struct{}), links: make(map[*link]struct{})}
	p.wg.Go(p.accept)
	tb.Cleanup(p.Close)
	return p
}

// Addr returns the address clients connect to, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Mode returns the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// SetMode switches every connection, open or to come, to m.
func (p *Proxy) SetMode(m Mode) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
	var reset []*link
	if m == Refuse {
		reset = slices.Collect(maps.Keys(p.links))
	}
	p.mu.Unlock()
	closeLinks(reset)
}

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines to end. It is safe to call more than once.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.changed)
	links := slices.Collect(maps.Keys(p.links))
	p.mu.Unlock()
	_ = p.ln.Close()
	closeLinks(links)
	p.wg.Wait()
}

func closeLinks(links []*link) {
	for _, l := range links {
		l.close()
	}
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		l := &link{client: c}
		p.mu.Lock()
		if p.closed || p.mode == Refuse {
			p.mu.Unlock()
			l.close()
			continue
		}
		p.links[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(l)
	}
}

// serve forwards l's bytes both ways until either side ends, then closes
// both.
func (p *Proxy) serve(l *link) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
		l.close()
	}()
	// Nothing reaches the target, not even the connection, before the
	// mode lets bytes through: a black hole accepts and says nothing.
	if !p.await() {
		return
	}
	server, err := l.dial(p.target)
	if err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, l.client); done <- struct{}{} }()
	go func() { p.pipe(l.client, server); done <- struct{}{} }()
	<-done
	l.close()
	<-done
}

// pipe copies src to dst, holding each chunk back while the proxy is a
// black hole.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.await() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// await blocks while the mode is BlackHole and reports whether bytes may
// pass: false once the proxy refuses or is closed.
func (p *Proxy) await() bool {
	for {
		p.mu.Lock()
		mode, closed, changed := p.mode, p.closed, p.changed
		p.mu.Unlock()
		switch {
		case closed || mode == Refuse:
			return false
		case mode == Pass:
			return true
		}
		<-changed
	}
}

func (l *link) dial(target string) (net.Conn, error) {
	l.once.Do(func() {
		l.server, l.err = net.DialTimeout("tcp", target, dialTimeout)
	})
	return l.server, l.err
}

// close resets the client connection, so that its peer sees the failure
// at once rather than an orderly end, and closes the target connection.
func (l *link) close() {
	if tc, ok := l.client.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = l.client.Close()
	// A dial still to come finds the link closed and fails; one done
	// already is closed here.
	l.once.Do(func() { l.err = errClosed })
	if l.server != nil {
		_ = l.server.Close()
	}
}

var errClosed = errors.New("faultproxy: connection closed")
