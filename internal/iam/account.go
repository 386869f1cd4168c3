// Package iam holds madang's AWS account settings (account id, region)
// and its access keys: the key pairs AWS clients sign requests with,
// kept in the state store and served from memory to the SigV4 verifier.
//
// Store layout:
//
//	/iam/account              the account settings (JSON Account)
//	/iam/access-keys/<AKID>   one access key (JSON AccessKey)
//
// The account settings are written on the first start (with the values
// given, or the defaults 000000000000 and local) and kept from then on;
// a later start that gives other values changes them.
package iam

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"regexp"
	"strings"
)

// Store keys.
const (
	// Prefix is where everything of this package lives.
	Prefix = "/iam/"
	// AccountKey holds the account settings.
	AccountKey = "/iam/account"
	// KeyPrefix holds the access keys, by access key id.
	KeyPrefix = "/iam/access-keys/"
)

// Defaults of the account settings: those of madang's ARNs.
const (
	DefaultAccountID = "000000000000"
	DefaultRegion    = "local"
	// DefaultUser owns the default access key, created on the first
	// start.
	DefaultUser = "admin"
)

// KindAccessKey is the access key's kind in errors.
const KindAccessKey = "access-key"

// Account is the AWS account madang presents: its id and region appear in
// every ARN and credential scope.
type Account struct {
	// ID is the 12-digit account id.
	ID string `json:"accountId"`
	// Region is the one region madang serves; requests must be signed
	// for it.
	Region string `json:"region"`
	// DefaultAccessKeyID is the default user's key that madang aws-env
	// prints ("" once it was deleted, until the next start makes another).
	DefaultAccessKeyID string `json:"defaultAccessKeyId,omitempty"`
}

// ARN returns an ARN of the account: arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE.
// IAM's ARNs have no region.
func (a Account) ARN(service, resource string) string {
	region := a.Region
	if service == "iam" {
		region = ""
	}
	return "arn:aws:" + service + ":" + region + ":" + a.ID + ":" + resource
}

// UserARN returns a user's ARN, as sts get-caller-identity answers it.
func (a Account) UserARN(user string) string { return a.ARN("iam", "user/"+user) }

// UserID returns a user's unique id in AWS's form (AIDA and 17 more
// letters and digits), derived from the account and the user name so it
// is the same on every call.
func (a Account) UserID(user string) string {
	sum := sha256.Sum256([]byte(a.ID + "/" + user))
	return "AIDA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}

// Identity is who signed a request, as sts get-caller-identity answers
// it.
type Identity struct {
	Account string
	ARN     string
	UserID  string
}

// Identity returns the identity of a user of the account.
func (a Account) Identity(user string) Identity {
	return Identity{Account: a.ID, ARN: a.UserARN(user), UserID: a.UserID(user)}
}

// The rules' lengths are checked apart from their patterns: a counted
// repetition such as {1,64} compiles into that many copies of its class
// at every start of the binary.
var (
	accountIDRe = regexp.MustCompile(`^[0-9]+$`)                     // 12 of them
	regionRe    = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`) // at most 32
	userNameRe  = regexp.MustCompile(`^[\w+=,.@-]+$`)                // at most 64
)

// ValidateAccountID checks an account id: 12 digits.
func ValidateAccountID(id string) error {
	if len(id) != 12 || !accountIDRe.MatchString(id) {
		return fmt.Errorf("account id %q is not 12 digits; use one such as %s", id, DefaultAccountID)
	}
	return nil
}

// ValidateRegion checks a region name: a lowercase label of letters,
// digits and dashes such as local or us-east-1.
func ValidateRegion(region string) error {
	if len(region) > 32 || !regionRe.MatchString(region) {
		return fmt.Errorf("region %q is not a region name; use lowercase letters, digits and dashes, such as %s or us-east-1", region, DefaultRegion)
	}
	return nil
}

// ValidateUserName checks an IAM user name: 1–64 letters, digits and
// +=,.@_- (AWS's rule).
func ValidateUserName(name string) error {
	if len(name) > 64 || !userNameRe.MatchString(name) {
		return fmt.Errorf("user name %q is not valid; use 1 to 64 letters, digits and +=,.@_-", name)
	}
	return nil
}

// ValidateStatus checks an access key status: Active or Inactive.
func ValidateStatus(status string) error {
	if status != StatusActive && status != StatusInactive {
		return fmt.Errorf("status %q is not Active or Inactive", status)
	}
	return nil
}

func keyPath(id string) string { return KeyPrefix + id }

func idOf(key string) (string, bool) {
	return strings.CutPrefix(key, KeyPrefix)
}
