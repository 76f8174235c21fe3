// Package redisstream is an events.Sink that appends events to a Redis
// stream with XADD, for consumers that read with XREAD or consumer groups.
// It only writes to the one stream key it is configured with; the caller
// owns the client.
package redisstream
