package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"oauth2-server.dev/bench/internal/procfs"
	"oauth2-server.dev/bench/internal/report"
)

// serverPID finds the server's process: the one given, or the one
// listening on the port of base when base points at this machine.
func serverPID(ctx context.Context, base *url.URL, given int) (int, error) {
	if given > 0 {
		return given, nil
	}
	port := base.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[base.Scheme]
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return 0, fmt.Errorf("bad port %q in -url", port)
	}
	local, err := isLocal(ctx, base.Hostname())
	if err != nil {
		return 0, err
	}
	if !local {
		return 0, fmt.Errorf("%s is not an address of this machine; pass -pid", base.Hostname())
	}
	return procfs.Default.ListenerPID(p)
}

// isLocal reports whether host resolves to an address of this machine.
func isLocal(ctx context.Context, host string) (bool, error) {
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return false, err
	}
	own, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if a.IP.IsLoopback() || a.IP.IsUnspecified() {
			return true, nil
		}
		for _, o := range own {
			if n, ok := o.(*net.IPNet); ok && n.IP.Equal(a.IP) {
				return true, nil
			}
		}
	}
	return false, nil
}

// peakBefore reads the server's peak RSS before the run, or 0.
func peakBefore(pid int, pidErr error) uint64 {
	if pidErr != nil {
		return 0
	}
	m, _ := procfs.Default.Memory(pid)
	return m.Peak
}

// serverMemory reads the server's memory after the run. Not finding it
// never fails the run: the figures are then reported as unknown, with why.
func serverMemory(pid int, pidErr error, before uint64) report.Memory {
	if pidErr != nil {
		return report.Memory{Unknown: pidErr.Error()}
	}
	m, err := procfs.Default.Memory(pid)
	if err != nil {
		return report.Memory{PID: pid, Unknown: fmt.Sprintf("cannot read the memory of pid %d: %v", pid, err)}
	}
	return report.Memory{PID: pid, PeakBytes: m.Peak, RSSBytes: m.Current, PeakBeforeBytes: before}
}
