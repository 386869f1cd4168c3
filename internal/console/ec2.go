package console

import "net/http"

// mountEC2 registers the ec2 pages.
func (s *Server) mountEC2(mux *http.ServeMux) {}
