package offlinedns

import (
	"context"
	"errors"
	"testing"
)

func TestResolverRefusesEveryLookup(t *testing.T) {
	r, err := Resolver()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LookupTXT(context.Background(), "_dnslink.example.com"); !errors.Is(err, ErrOffline) {
		t.Errorf("TXT lookup: %v", err)
	}
	if _, err := r.LookupIPAddr(context.Background(), "example.com"); !errors.Is(err, ErrOffline) {
		t.Errorf("IP lookup: %v", err)
	}
}
