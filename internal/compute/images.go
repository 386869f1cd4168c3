package compute

// Images returns all images sorted by name.
func (s *Service) Images() []Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedCopies(s.images)
}

// LaunchTemplates returns all launch templates sorted by name.
func (s *Service) LaunchTemplates() []LaunchTemplate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedCopies(s.templates)
}

// Groups returns all instance groups sorted by name.
func (s *Service) Groups() []Group {
	s.mu.Lock()
	gs := sortedCopies(s.groups)
	s.mu.Unlock()
	for i := range gs {
		gs[i].Status = s.groupStatus(gs[i].Spec.Name)
	}
	return gs
}
