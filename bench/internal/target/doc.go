// Package target talks to the server under test as its clients would:
// dynamic registration, token requests, and a browser that signs in
// through the real sign-in and consent forms and then collects
// authorization codes with prompt=none.
//
// It is the benchmark's only knowledge of the server's HTTP surface (paths,
// form fields, page markup). Setup calls return decoded answers; the load
// path uses Call, a request prepared once and sent many times, so the load
// generator spends as little of the shared CPU as it can.
package target
