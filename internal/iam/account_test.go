package iam

import (
	"strings"
	"testing"
)

func TestValidateAccountRegionUser(t *testing.T) {
	cases := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"account: 12 digits", ValidateAccountID, "000000000000", true},
		{"account: 11 digits", ValidateAccountID, "00000000000", false},
		{"account: 13 digits", ValidateAccountID, "0000000000000", false},
		{"account: a letter", ValidateAccountID, "00000000000a", false},
		{"region: local", ValidateRegion, "local", true},
		{"region: us-east-1", ValidateRegion, "us-east-1", true},
		{"region: 32 characters", ValidateRegion, "a" + strings.Repeat("b", 31), true},
		{"region: 33 characters", ValidateRegion, "a" + strings.Repeat("b", 32), false},
		{"region: ends in a dash", ValidateRegion, "us-", false},
		{"region: upper case", ValidateRegion, "Local", false},
		{"user: admin", ValidateUserName, "admin", true},
		{"user: 64 characters", ValidateUserName, strings.Repeat("u", 64), true},
		{"user: 65 characters", ValidateUserName, strings.Repeat("u", 65), false},
		{"user: empty", ValidateUserName, "", false},
		{"user: a space", ValidateUserName, "a b", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(c.in); (err == nil) != c.ok {
				t.Errorf("check(%q) = %v, want ok=%v", c.in, err, c.ok)
			}
		})
	}
}
