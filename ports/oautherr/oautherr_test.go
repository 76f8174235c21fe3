package oautherr

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name       string
		preset     http.Header // set by the caller before Write
		res        Response
		wantHeader http.Header
		wantBody   string
	}{
		{
			name: "a refusal carries its code, description and the no-store headers",
			res:  Response{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the code has expired"},
			wantHeader: http.Header{
				"Cache-Control": {"no-store"},
				"Content-Type":  {"application/json"}, "Pragma": {"no-cache"},
			},
			wantBody: `{"error":"invalid_grant","error_description":"the code has expired"}` + "\n",
		},
		{
			name: "an empty description is left out",
			res:  Response{Status: http.StatusBadRequest, Code: "invalid_request"},
			wantHeader: http.Header{
				"Cache-Control": {"no-store"},
				"Content-Type":  {"application/json"}, "Pragma": {"no-cache"},
			},
			wantBody: `{"error":"invalid_request"}` + "\n",
		},
		{
			name: "a wait is advertised in whole seconds, rounded up",
			res:  Response{Status: http.StatusTooManyRequests, Code: TemporarilyUnavailable, Description: "slow down", RetryAfter: 1300 * time.Millisecond},
			wantHeader: http.Header{
				"Cache-Control": {"no-store"},
				"Content-Type":  {"application/json"}, "Pragma": {"no-cache"}, "Retry-After": {"2"},
			},
			wantBody: `{"error":"temporarily_unavailable","error_description":"slow down"}` + "\n",
		},
		{
			name:   "a challenge the caller set goes out with the error",
			preset: http.Header{"Www-Authenticate": {`Basic realm="oauth2", charset="UTF-8"`}},
			res:    Response{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "unknown client"},
			wantHeader: http.Header{
				"Cache-Control": {"no-store"},
				"Content-Type":  {"application/json"}, "Pragma": {"no-cache"},
				"Www-Authenticate": {`Basic realm="oauth2", charset="UTF-8"`},
			},
			wantBody: `{"error":"invalid_client","error_description":"unknown client"}` + "\n",
		},
		{
			name: "markup in a description is escaped",
			res:  Response{Status: http.StatusBadRequest, Code: "invalid_request", Description: "<script>"},
			wantHeader: http.Header{
				"Cache-Control": {"no-store"},
				"Content-Type":  {"application/json"}, "Pragma": {"no-cache"},
			},
			wantBody: `{"error":"invalid_request","error_description":"\u003cscript\u003e"}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			for k, v := range tt.preset {
				rec.Header()[k] = v
			}
			Write(rec, tt.res)
			tt.wantHeader.Set("Content-Length", strconv.Itoa(len(tt.wantBody)))
			if rec.Code != tt.res.Status {
				t.Errorf("status = %d, want %d", rec.Code, tt.res.Status)
			}
			if !reflect.DeepEqual(rec.Header(), tt.wantHeader) {
				t.Errorf("headers = %v, want %v", rec.Header(), tt.wantHeader)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want int
	}{
		{"no wait still asks for a second", 0, 1},
		{"a negative wait still asks for a second", -time.Second, 1},
		{"part of a second rounds up", 300 * time.Millisecond, 1},
		{"whole seconds stay", 5 * time.Second, 5},
		{"a second and a bit rounds up", 1001 * time.Millisecond, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Seconds(tt.d); got != tt.want {
				t.Fatalf("Seconds(%v) = %d, want %d", tt.d, got, tt.want)
			}
		})
	}
}
