package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"oauth2-server.dev/bench/internal/histogram"
	"oauth2-server.dev/bench/internal/load"
)

func result(name string, n int, latency time.Duration) load.Result {
	h := &histogram.Histogram{}
	for range n {
		h.Record(latency)
	}
	return load.Result{Name: name, Requests: uint64(n), Elapsed: time.Second, Latencies: h}
}

func TestRelate(t *testing.T) {
	ceiling := FromResult(result("ceiling", 1000, 2*time.Millisecond))
	r := &Report{Ceiling: &ceiling, Scenarios: []Row{
		FromResult(result("client_credentials", 800, 3*time.Millisecond)),
		{Name: "refresh", Failed: "no user"},
	}}
	r.Relate()
	cc := r.Scenarios[0]
	if cc.OfCeiling == nil || *cc.OfCeiling != 0.8 || cc.P99OverCeiling == nil || *cc.P99OverCeiling < 1.49 || *cc.P99OverCeiling > 1.51 {
		t.Fatalf("client_credentials = %+v", cc)
	}
	if r.Scenarios[1].OfCeiling != nil {
		t.Fatal("a scenario that did not run has no fraction")
	}
	if *r.Ceiling.OfCeiling != 1 {
		t.Fatal("the ceiling is 1 of itself")
	}
}

func TestRelateToEachScenariosOwnCeiling(t *testing.T) {
	first := FromResult(result("ceiling", 1000, 2*time.Millisecond))
	slower := FromResult(result("ceiling", 500, 4*time.Millisecond))
	cc := FromResult(result("client_credentials", 400, 4*time.Millisecond))
	cc.Ceiling = &slower
	jwks := FromResult(result("jwks", 800, 2*time.Millisecond))
	r := &Report{Ceiling: &first, Scenarios: []Row{cc, jwks}}
	r.Relate()
	if got := *r.Scenarios[0].OfCeiling; got != 0.8 {
		t.Errorf("client_credentials of ceiling = %v, want 0.8 of the ceiling run before it", got)
	}
	if got := *r.Scenarios[1].OfCeiling; got != 0.8 {
		t.Errorf("jwks of ceiling = %v, want 0.8 of the first ceiling", got)
	}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ceiling req/s", "500", "4.00ms"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestWriteTable(t *testing.T) {
	ceiling := FromResult(result("ceiling", 1000, 2*time.Millisecond))
	failing := FromResult(result("userinfo", 10, time.Millisecond))
	failing.Errors, failing.FirstError = 3, "GET /oauth/userinfo: 401 Unauthorized"
	r := &Report{Ceiling: &ceiling, Scenarios: []Row{failing, {Name: "refresh", Failed: "no user"}},
		Server: Memory{Unknown: "no process holds the socket"}}
	r.Relate()
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"p99.9", "ceiling", "1000", "2.00ms", "userinfo first error: GET /oauth/userinfo: 401",
		"refresh did not run: no user", "server RSS: unknown (no process holds the socket)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSONFile(t *testing.T) {
	ceiling := FromResult(result("ceiling", 1000, 2*time.Millisecond))
	r := &Report{Ceiling: &ceiling, Scenarios: []Row{FromResult(result("jwks", 500, time.Millisecond))},
		Server: Memory{PID: 7, PeakBytes: 1 << 20, RSSBytes: 1 << 19}}
	r.Relate()
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.WriteJSONFile(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	rows := back["scenarios"].([]any)
	if rows[0].(map[string]any)["fraction_of_ceiling"] != 0.5 {
		t.Fatalf("json = %s", b)
	}
}

func TestCPUModel(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if got := CPUModel(info); got != "AMD EPYC 7B13" {
		t.Fatalf("CPUModel = %q", got)
	}
	if got := CPUModel("processor\t: 0\n"); got != "" {
		t.Fatalf("CPUModel without a model name = %q", got)
	}
}
