// Package mongotest gives tests a MongoDB server and a fresh database on
// it for every test: the server OAUTH2_TEST_MONGO_URL names when it is set,
// otherwise FerretDB (v1, SQLite handler) running inside the test binary
// on a loopback port, speaking the MongoDB wire protocol. No mongod need
// be installed.
//
// It is test support for the MongoDB store and for end-to-end tests that
// run the server on MongoDB; production code never imports it.
package mongotest
