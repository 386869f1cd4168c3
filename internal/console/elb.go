package console

import "net/http"

// mountELB registers the elb pages.
func (s *Server) mountELB(mux *http.ServeMux) {}
