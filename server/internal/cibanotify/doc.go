// Package cibanotify is the room where the server reaches people's
// authentication devices for backchannel authentication (OpenID Connect
// CIBA §8): each notifier implements ports.CIBANotifier. Log writes one
// structured log line per request, for development and for operators who
// route log lines to a messaging system; Webhook POSTs a signed JSON
// notice to an operator's service, which pushes it to the user's phone.
//
// A notice carries the decision page's URL and what the page shows, never
// an auth_req_id, a client_notification_token or any other secret. It may
// import ports, events/webhook (for its signature scheme) and the
// standard library.
package cibanotify
