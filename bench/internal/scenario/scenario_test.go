package scenario

import (
	"slices"
	"testing"
)

func TestSelect(t *testing.T) {
	var all []string
	for _, s := range All {
		all = append(all, s.Name)
	}
	tests := []struct {
		name    string
		spec    string
		want    []string
		wantErr bool
	}{
		{name: "all", spec: "all", want: all},
		{name: "run order, not the order given", spec: "jwks, client_credentials", want: []string{"client_credentials", "jwks"}},
		{name: "duplicates once", spec: "refresh,refresh", want: []string{"refresh"}},
		{name: "unknown name", spec: "client_credentials,password", wantErr: true},
		{name: "empty", spec: " , ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Select(%q) = %v, want an error", tt.spec, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if !slices.Equal(names, tt.want) {
				t.Fatalf("Select(%q) = %v, want %v", tt.spec, names, tt.want)
			}
		})
	}
}
