module oauth2-server.dev/bench

go 1.26.0
