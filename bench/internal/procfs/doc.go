// Package procfs finds the process listening on a TCP port and reads its
// memory figures from Linux's /proc, so the benchmark can report the
// server's peak RSS without being told its pid.
//
// It only reads: /proc/net/tcp and tcp6 map the port to socket inodes, and
// /proc/PID/fd links name the process holding one. Everything takes a root
// directory, so tests run against fixture trees instead of the live /proc.
package procfs
