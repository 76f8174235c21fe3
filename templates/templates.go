package templates

import "embed"

// FS holds html/*.html and static/*.
//
//go:embed html/*.html static/*
var FS embed.FS

// Pages lists the page templates, each rendered inside html/layout.html.
var Pages = []string{"login", "consent", "error", "logout", "loggedout", "device", "formpost", "ciba", "admin_login", "admin", "admin_confirm", "account"}
