package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"oauth2-server.dev/bench/internal/load"
)

// Report is one benchmark run.
type Report struct {
	StartedAt       time.Time `json:"started_at"`
	URL             string    `json:"url"`
	Concurrency     int       `json:"concurrency"`
	DurationSeconds float64   `json:"duration_seconds"`
	MaxRequests     int64     `json:"max_requests"`
	Machine         Machine   `json:"machine"`
	// Ceiling is the ceiling run before all scenarios; nil when the
	// ceiling was turned off or ran before each scenario (Row.Ceiling).
	Ceiling   *Row   `json:"ceiling,omitempty"`
	Scenarios []Row  `json:"scenarios"`
	Server    Memory `json:"server_memory"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUModel string `json:"cpu_model,omitempty"`
	CPUs     int    `json:"cpus"`
	GoOS     string `json:"goos"`
	GoArch   string `json:"goarch"`
	// GoVersion is the benchmark's toolchain, usually the server's too.
	GoVersion string `json:"go_version"`
}

// Row is one scenario's figures. Latencies are in milliseconds, of
// successful requests.
type Row struct {
	Name           string  `json:"name"`
	Requests       uint64  `json:"requests"`
	Errors         uint64  `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	RPS            float64 `json:"requests_per_second"`
	P50            float64 `json:"p50_ms"`
	P99            float64 `json:"p99_ms"`
	P999           float64 `json:"p999_ms"`
	Mean           float64 `json:"mean_ms"`
	Max            float64 `json:"max_ms"`
	// OfCeiling is RPS over the ceiling's; P99OverCeiling is P99 over the
	// ceiling's. Both are absent without a ceiling.
	OfCeiling      *float64 `json:"fraction_of_ceiling,omitempty"`
	P99OverCeiling *float64 `json:"p99_over_ceiling_p99,omitempty"`
	// Ceiling is the ceiling run just before this scenario, which the
	// fractions relate to, when the ceiling ran before each scenario.
	Ceiling *Row `json:"ceiling,omitempty"`
	// Stopped says why the timed phase ended early; Failed why the
	// scenario did not run at all.
	Stopped string `json:"stopped,omitempty"`
	Failed  string `json:"failed,omitempty"`
}

// Memory is the server's resident set after the run, and its peak before
// the run, which tells start-up's share of the peak from the load's.
type Memory struct {
	PID             int    `json:"pid,omitempty"`
	PeakBytes       uint64 `json:"peak_rss_bytes,omitempty"`
	RSSBytes        uint64 `json:"rss_bytes,omitempty"`
	PeakBeforeBytes uint64 `json:"peak_rss_before_run_bytes,omitempty"`
	// Unknown says why the figures are missing.
	Unknown string `json:"unknown,omitempty"`
}

// FromResult converts a load result.
func FromResult(r load.Result) Row {
	h := r.Latencies
	return Row{
		Name: r.Name, Requests: r.Requests, Errors: r.Errors, FirstError: r.FirstError,
		ElapsedSeconds: r.Elapsed.Seconds(), RPS: r.RPS(),
		P50: ms(h.Quantile(0.50)), P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)),
		Mean: ms(h.Mean()), Max: ms(h.Max()), Stopped: r.Stopped,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Relate sets every scenario's fractions of the ceiling: the one run just
// before it if there is one, else the one run before all scenarios.
func (r *Report) Relate() {
	one := 1.0
	if r.Ceiling != nil && r.Ceiling.RPS > 0 {
		r.Ceiling.OfCeiling, r.Ceiling.P99OverCeiling = &one, &one
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		c := r.Ceiling
		if s.Ceiling != nil {
			c = s.Ceiling
		}
		if c == nil || c.RPS == 0 || s.Failed != "" || s.Requests == 0 {
			continue
		}
		f := s.RPS / c.RPS
		s.OfCeiling = &f
		if c.P99 > 0 {
			p := s.P99 / c.P99
			s.P99OverCeiling = &p
		}
	}
}

// ownCeilings reports whether a scenario has a ceiling run of its own.
func (r *Report) ownCeilings() bool {
	for _, s := range r.Scenarios {
		if s.Ceiling != nil {
			return true
		}
	}
	return false
}

// WriteTable writes the run as a plain table, then the first error of each
// scenario that had one, then the server's memory.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// With a ceiling run before each scenario, each row shows the
	// ceiling's req/s and p99 it is related to.
	own := r.ownCeilings()
	header := "scenario\treq/s\tp50\tp99\tp99.9\terrors\tof ceiling\tp99 vs ceiling\t"
	if own {
		header += "ceiling req/s\tceiling p99\t"
	}
	fmt.Fprintln(tw, header)
	rows := r.Scenarios
	if r.Ceiling != nil {
		rows = append([]Row{*r.Ceiling}, rows...)
	}
	for _, s := range rows {
		if s.Failed != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t", s.Name)
		} else {
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%d\t%s\t%s\t", s.Name, s.RPS,
				fmtMS(s.P50), fmtMS(s.P99), fmtMS(s.P999), s.Errors, ratio(s.OfCeiling, ""), ratio(s.P99OverCeiling, "x"))
		}
		switch {
		case !own:
		case s.Ceiling == nil || s.Failed != "":
			fmt.Fprint(tw, "-\t-\t")
		default:
			fmt.Fprintf(tw, "%.0f\t%s\t", s.Ceiling.RPS, fmtMS(s.Ceiling.P99))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, s := range rows {
		switch {
		case s.Failed != "":
			notes = append(notes, fmt.Sprintf("%s did not run: %s", s.Name, s.Failed))
		case s.FirstError != "":
			notes = append(notes, fmt.Sprintf("%s first error: %s", s.Name, s.FirstError))
		}
		if c := s.Ceiling; c != nil && c.FirstError != "" {
			notes = append(notes, fmt.Sprintf("ceiling before %s: %d errors; the first: %s", s.Name, c.Errors, c.FirstError))
		}
		if s.Stopped != "" && s.Failed == "" {
			notes = append(notes, fmt.Sprintf("%s stopped after %.1fs: %s", s.Name, s.ElapsedSeconds, s.Stopped))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
	fmt.Fprintln(w)
	m := r.Server
	if m.Unknown != "" {
		_, err := fmt.Fprintf(w, "server RSS: unknown (%s)\n", m.Unknown)
		return err
	}
	before := ""
	if m.PeakBeforeBytes > 0 {
		before = fmt.Sprintf(" (%s before the run)", mib(m.PeakBeforeBytes))
	}
	_, err := fmt.Fprintf(w, "server RSS (pid %d): peak %s%s (VmHWM), %s after the run (VmRSS)\n",
		m.PID, mib(m.PeakBytes), before, mib(m.RSSBytes))
	return err
}

// fmtMS prints a latency with three significant digits.
func fmtMS(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

func ratio(v *float64, suffix string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f%s", *v, suffix)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// WriteJSONFile writes the report as indented JSON.
func (r *Report) WriteJSONFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644) // #nosec G306 -- a report of figures, meant to be read and published
}

// CPUModel reads the processor's name from a /proc/cpuinfo text, or "".
func CPUModel(cpuinfo string) string {
	for line := range strings.Lines(cpuinfo) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
