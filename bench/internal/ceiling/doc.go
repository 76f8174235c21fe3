// Package ceiling is the yardstick the server is measured against: a bare
// net/http token endpoint that does the work no token endpoint can skip
// (parse the form, check Basic credentials in constant time, sign an ES256
// JWT access token with the server's claim set, write the JSON response)
// and nothing else: no storage, no router, no middleware, no metrics.
//
// Run in the benchmark process on a loopback port and driven by the same
// load loop as the server, its throughput is what this machine's HTTP stack
// and P-256 signing allow; a server scenario's throughput divided by it
// says how much the server's own work costs.
package ceiling
