package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracing starts a server span for every request, continuing the caller's
// W3C trace context. The span is named after the route pattern, never the
// raw path, and carries no query, header or body: those hold codes and
// tokens.
func tracing(tp trace.TracerProvider) func(http.Handler) http.Handler {
	tracer := tp.Tracer("oauth2-server.dev/httpapi")
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			ctx, span := tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
			defer span.End()
			sw := captureStatus(w)
			next.ServeHTTP(sw, r.WithContext(ctx))
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			span.SetName(r.Method + " " + route)
			span.SetAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("http.route", route),
				attribute.Int("http.response.status_code", sw.status()),
			)
			if sw.status() >= 500 {
				span.SetStatus(codes.Error, strconv.Itoa(sw.status()))
			}
		})
	}
}

// TraceIDFrom returns the W3C trace id of ctx, or "".
func TraceIDFrom(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
