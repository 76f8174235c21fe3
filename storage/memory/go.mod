module oauth2-server.dev/storage/memory

go 1.26.0

require oauth2-server.dev/ports v0.0.0

replace oauth2-server.dev/ports => ../../ports
