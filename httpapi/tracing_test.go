package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestTracing(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	r := chi.NewRouter()
	r.Use(tracing(tp), accessLog(log))
	r.Get("/clients/{id}", func(w http.ResponseWriter, r *http.Request) {})
	r.Get("/boom", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })

	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name, path, wantName string
		traceparent          bool
		wantError            bool
	}{
		{name: "a caller's trace context is continued", path: "/clients/secret-client?code=abc", wantName: "GET /clients/{id}", traceparent: true},
		{name: "a request without context starts a trace", path: "/clients/x", wantName: "GET /clients/{id}"},
		{name: "a 5xx answer marks the span as an error", path: "/boom", wantName: "GET /boom", wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.traceparent {
				req.Header.Set("traceparent", parent)
			}
			r.ServeHTTP(httptest.NewRecorder(), req)
			spans := rec.Ended()
			span := spans[len(spans)-1]
			if span.Name() != tc.wantName {
				t.Fatalf("span name %q, want %q: the route pattern, never the path", span.Name(), tc.wantName)
			}
			traceID := span.SpanContext().TraceID().String()
			if tc.traceparent && traceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Fatalf("trace id %s does not continue the caller's", traceID)
			}
			if !strings.Contains(logs.String(), `"trace_id":"`+traceID+`"`) {
				t.Fatalf("access log lacks the trace id: %s", logs.String())
			}
			for _, kv := range span.Attributes() {
				if strings.Contains(kv.Value.String(), "secret-client") || strings.Contains(kv.Value.String(), "code=") {
					t.Fatalf("span attribute %s leaks the path or query: %s", kv.Key, kv.Value.String())
				}
			}
			if got := span.Status().Code.String() == "Error"; got != tc.wantError {
				t.Fatalf("span status %v", span.Status())
			}
		})
	}
}
