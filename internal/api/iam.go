package api

import (
	"context"
	"net/http"

	"github.com/madang-dev/madang/internal/api/v1"
	"github.com/madang-dev/madang/internal/fault"
	"github.com/madang-dev/madang/internal/iam"
)

// AccessKeys is what the API needs of madang's access keys; *iam.Keys
// implements it. Errors are fault errors.
type AccessKeys interface {
	// Account returns the account settings.
	Account() iam.Account
	// List returns every key, oldest first.
	List() []iam.AccessKey
	// Default returns the default key, if there is one.
	Default() (iam.AccessKey, bool)
	Create(ctx context.Context, user string) (iam.AccessKey, error)
	Delete(ctx context.Context, id string) error
	SetStatus(ctx context.Context, id, status string) (iam.AccessKey, error)
}

// AWSEndpoint describes the AWS-compatible endpoint, for GET
// /v1/aws/settings.
type AWSEndpoint struct {
	// Listen is its host:port ("" when there is none); URL is how
	// clients reach it.
	Listen, URL string
	// Auth is "required" or "off".
	Auth string
}

// mountIAM registers the access key and AWS settings routes.
func (s *Server) mountIAM(mux *http.ServeMux) {
	if s.IAM == nil {
		return
	}
	mux.HandleFunc("GET /v1/iam/access-keys", func(w http.ResponseWriter, r *http.Request) {
		def, _ := s.IAM.Default()
		out := []v1.AccessKey{}
		for _, k := range s.IAM.List() {
			out = append(out, accessKeyOf(k, def.ID, false))
		}
		writeJSON(w, out)
	})
	mux.HandleFunc("POST /v1/iam/access-keys", func(w http.ResponseWriter, r *http.Request) {
		var req v1.CreateAccessKeyRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		k, err := s.IAM.Create(r.Context(), req.UserName)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, accessKeyOf(k, "", true))
	})
	mux.HandleFunc("DELETE /v1/iam/access-keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.IAM.Delete(r.Context(), r.PathValue("id")); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/iam/access-keys/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		var req v1.AccessKeyStatusRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		if req.Status == "" {
			s.fail(w, r, fault.Invalidf(iam.KindAccessKey, id, "status is required").WithHint(`send {"status": "Active"} or {"status": "Inactive"}`))
			return
		}
		k, err := s.IAM.SetStatus(r.Context(), id, req.Status)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		def, _ := s.IAM.Default()
		writeJSON(w, accessKeyOf(k, def.ID, false))
	})
	mux.HandleFunc("GET /v1/aws/settings", func(w http.ResponseWriter, r *http.Request) {
		a := s.IAM.Account()
		out := v1.AWSSettings{Enabled: s.AWS.Listen != "", EndpointURL: s.AWS.URL, Listen: s.AWS.Listen, Auth: s.AWS.Auth,
			Region: a.Region, AccountID: a.ID}
		if k, ok := s.IAM.Default(); ok {
			out.AccessKeyID, out.SecretAccessKey, out.AccessKeyStatus = k.ID, k.Secret, k.Status
			out.UserName, out.UserARN = k.User, a.UserARN(k.User)
		}
		writeJSON(w, out)
	})
}

// accessKeyOf converts a key; the secret only when withSecret.
func accessKeyOf(k iam.AccessKey, defaultID string, withSecret bool) v1.AccessKey {
	out := v1.AccessKey{AccessKeyID: k.ID, UserName: k.User, Status: k.Status, CreateDate: k.CreatedAt, Default: k.ID == defaultID}
	if withSecret {
		out.SecretAccessKey = k.Secret
	}
	return out
}
