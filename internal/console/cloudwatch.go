package console

import "net/http"

// mountCloudWatch registers the cloudwatch pages.
func (s *Server) mountCloudWatch(mux *http.ServeMux) {}
