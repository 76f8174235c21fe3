module oauth2-server.dev/ports

go 1.26.0
