// Package httpapi is the HTTP face of the server: the chi router with every
// route in one place, the middleware pipeline, the handlers that turn HTTP
// requests into core calls and core results into JSON, redirects or HTML
// pages, cookies and CSRF protection, and the Prometheus metrics of the
// HTTP layer. Protocol decisions belong to core; this package only
// translates.
package httpapi
