module oauth2-server.dev/templates

go 1.26.0
