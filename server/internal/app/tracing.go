package app

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"oauth2-server.dev/config"
)

// tracerProvider builds the OpenTelemetry tracer provider. With an OTLP
// endpoint, spans are sampled (following the caller's decision when it
// sent one) and exported over OTLP/HTTP. Without one, nothing is recorded,
// but every request still gets a W3C trace id, continued from the caller's
// traceparent, that logs and events carry.
func tracerProvider(ctx context.Context, cfg *config.Config) (*sdktrace.TracerProvider, error) {
	res := resource.NewSchemaless(semconv.ServiceName("oauth2-server"))
	if cfg.Telemetry.OTLPEndpoint == "" {
		return sdktrace.NewTracerProvider(
			sdktrace.WithResource(res),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())),
		), nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Telemetry.OTLPEndpoint))
	if err != nil {
		return nil, fmt.Errorf("OAUTH2_OTLP_ENDPOINT: %w", err)
	}
	return sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	), nil
}
