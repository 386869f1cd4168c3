package console

import "net/http"

// mountAutoScaling registers the autoscaling pages.
func (s *Server) mountAutoScaling(mux *http.ServeMux) {}
