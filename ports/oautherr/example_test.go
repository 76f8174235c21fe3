package oautherr_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"oauth2-server.dev/ports/oautherr"
)

func ExampleWrite() {
	rec := httptest.NewRecorder()
	oautherr.Write(rec, oautherr.Response{
		Status:      http.StatusServiceUnavailable,
		Code:        oautherr.TemporarilyUnavailable,
		Description: "the server is busy, retry later",
		RetryAfter:  time.Second,
	})
	fmt.Println(rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Cache-Control"))
	fmt.Print(rec.Body.String())
	// Output:
	// 503 1 no-store
	// {"error":"temporarily_unavailable","error_description":"the server is busy, retry later"}
}
