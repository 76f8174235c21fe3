package procfs

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Captured from a machine where 127.0.0.1:8080 (0x1F90) listens, with an
// established connection to it and a listener on another port.
const tcpFixture = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode                                                     
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 424242 1 0000000000000000 100 0 0 10 0                    
   1: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1111 1 0000000000000000 100 0 0 10 5                      
   2: 0100007F:D2F0 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 555 1 0000000000000000 20 4 30 10 -1                      
   3: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 556 1 0000000000000000 20 4 30 10 -1                      
`

// The same port on [::] in tcp6.
const tcp6Fixture = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0
`

const statusFixture = `Name:	oauth2-server
Umask:	0022
State:	S (sleeping)
Pid:	4321
VmPeak:	 1290400 kB
VmSize:	 1290400 kB
VmHWM:	   61440 kB
VmRSS:	   40960 kB
RssAnon:	   30000 kB
Threads:	9
`

func TestParseListeners(t *testing.T) {
	tests := []struct {
		name  string
		table string
		port  int
		want  []uint64
	}{
		{"listener on the port, not the connections", tcpFixture, 8080, []uint64{424242}},
		{"another listener", tcpFixture, 53, []uint64{1111}},
		{"client side of a connection is not a listener", tcpFixture, 0xD2F0, nil},
		{"nothing on the port", tcpFixture, 9090, nil},
		{"tcp6", tcp6Fixture, 8080, []uint64{777}},
		{"garbage", "not a table\n0: x y z\n", 8080, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseListeners([]byte(tt.table), tt.port); !slices.Equal(got, tt.want) {
				t.Fatalf("ParseListeners = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	m, err := ParseStatus([]byte(statusFixture))
	if err != nil {
		t.Fatal(err)
	}
	if m.Peak != 61440*1024 || m.Current != 40960*1024 {
		t.Fatalf("memory = %+v", m)
	}
	if _, err := ParseStatus([]byte("Name:\tkthreadd\nState:\tS\n")); err == nil {
		t.Fatal("a status without Vm lines must be an error")
	}
	if _, err := ParseStatus([]byte("VmHWM:\t12 MB\nVmRSS:\t1 kB\n")); err == nil {
		t.Fatal("an unexpected unit must be an error")
	}
}

// fakeProc builds a proc tree: net tables, and processes with fd links.
func fakeProc(t *testing.T, tcp string, fds map[string][]string) FS {
	t.Helper()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "net", "tcp"), tcp)
	for pid, links := range fds {
		dir := filepath.Join(root, pid, "fd")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, target := range links {
			if err := os.Symlink(target, filepath.Join(dir, strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
		}
		mustWrite(t, filepath.Join(root, pid, "status"), statusFixture)
	}
	return FS{Root: root}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestListenerPID(t *testing.T) {
	t.Run("the process holding the listening socket", func(t *testing.T) {
		p := fakeProc(t, tcpFixture, map[string][]string{
			"100":  {"/dev/null", "socket:[1111]"},
			"4321": {"/dev/null", "pipe:[9]", "socket:[556]", "socket:[424242]"},
			"200":  {"socket:[555]"},
		})
		pid, err := p.ListenerPID(8080)
		if err != nil || pid != 4321 {
			t.Fatalf("ListenerPID = %d, %v; want 4321", pid, err)
		}
		m, err := p.Memory(pid)
		if err != nil || m.Peak != 61440*1024 {
			t.Fatalf("Memory = %+v, %v", m, err)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		p := fakeProc(t, tcpFixture, map[string][]string{"100": {"socket:[1111]"}})
		if _, err := p.ListenerPID(9090); err == nil || !strings.Contains(err.Error(), "no socket listens") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no process holds the socket", func(t *testing.T) {
		p := fakeProc(t, tcpFixture, map[string][]string{"100": {"socket:[1111]"}})
		if _, err := p.ListenerPID(8080); err == nil || !strings.Contains(err.Error(), "no process holds") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("two processes share the socket", func(t *testing.T) {
		p := fakeProc(t, tcpFixture, map[string][]string{"10": {"socket:[424242]"}, "11": {"socket:[424242]"}})
		if _, err := p.ListenerPID(8080); err == nil || !strings.Contains(err.Error(), "[10 11]") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no proc filesystem", func(t *testing.T) {
		if _, err := (FS{Root: t.TempDir()}).ListenerPID(8080); err == nil {
			t.Fatal("want an error")
		}
	})
}

// The live /proc finds this test process by a port it listens on.
func TestListenerPIDLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid, err := Default.ListenerPID(ln.Addr().(*net.TCPAddr).Port)
	if err != nil || pid != os.Getpid() {
		t.Fatalf("ListenerPID = %d, %v; want %d", pid, err, os.Getpid())
	}
	m, err := Default.Memory(pid)
	if err != nil || m.Peak == 0 || m.Current == 0 || m.Peak < m.Current {
		t.Fatalf("Memory = %+v, %v", m, err)
	}
}
