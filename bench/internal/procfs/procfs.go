package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// FS is a proc filesystem mounted at Root.
type FS struct{ Root string }

// Default is the live /proc.
var Default = FS{Root: "/proc"}

// tcpListen is the TCP_LISTEN state as /proc/net/tcp writes it.
const tcpListen = "0A"

// ParseListeners returns the inodes of the sockets in a /proc/net/tcp or
// tcp6 table that listen on port, on any address.
func ParseListeners(table []byte, port int) []uint64 {
	var inodes []uint64
	sc := bufio.NewScanner(bytes.NewReader(table))
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if err != nil || int(p) != port {
			continue
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil || inode == 0 {
			continue
		}
		inodes = append(inodes, inode)
	}
	return inodes
}

// ListenerPID returns the pid of the process listening on the TCP port.
func (p FS) ListenerPID(port int) (int, error) {
	var inodes []uint64
	var read int
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		b, err := os.ReadFile(filepath.Join(p.Root, name)) // #nosec G304 -- a fixed file under the proc root
		if err != nil {
			continue
		}
		read++
		inodes = append(inodes, ParseListeners(b, port)...)
	}
	if read == 0 {
		return 0, fmt.Errorf("cannot read %s/net/tcp (not Linux?)", p.Root)
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no socket listens on port %d in this network namespace", port)
	}
	want := make(map[string]bool, len(inodes))
	for _, ino := range inodes {
		want["socket:["+strconv.FormatUint(ino, 10)+"]"] = true
	}

	procs, err := os.ReadDir(p.Root)
	if err != nil {
		return 0, err
	}
	var pids []int
	denied := 0
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		fdDir := filepath.Join(p.Root, e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if errors.Is(err, fs.ErrPermission) {
			denied++
			continue
		}
		if err != nil {
			// The process exited while we looked.
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err == nil && want[target] {
				pids = append(pids, pid)
				break
			}
		}
	}
	switch {
	case len(pids) == 1:
		return pids[0], nil
	case len(pids) > 1:
		slices.Sort(pids)
		return 0, fmt.Errorf("several processes listen on port %d: %v; pass -pid", port, pids)
	case denied > 0:
		return 0, fmt.Errorf("port %d is listening but its process is not readable (%d processes could not be inspected: another user's?); pass -pid", port, denied)
	}
	return 0, fmt.Errorf("no process holds the socket listening on port %d", port)
}

// Memory is a process's resident set, in bytes.
type Memory struct {
	// Peak is VmHWM: the largest resident set since the process started.
	Peak uint64
	// Current is VmRSS when it was read.
	Current uint64
}

// ParseStatus reads VmHWM and VmRSS from a /proc/PID/status text.
func ParseStatus(status []byte) (Memory, error) {
	var m Memory
	var found int
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("procfs: unexpected %s line %q", key, sc.Text())
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("procfs: %s: %w", key, err)
		}
		if key == "VmHWM" {
			m.Peak = kb * 1024
		} else {
			m.Current = kb * 1024
		}
		found++
	}
	if found != 2 {
		// Kernel threads and zombies have no Vm lines.
		return Memory{}, errors.New("procfs: status has no VmHWM and VmRSS")
	}
	return m, nil
}

// Memory reads the memory figures of pid.
func (p FS) Memory(pid int) (Memory, error) {
	b, err := os.ReadFile(filepath.Join(p.Root, strconv.Itoa(pid), "status"))
	if err != nil {
		return Memory{}, err
	}
	return ParseStatus(b)
}
