//go:build !linux

package supervisor

// diagVariants has no sock_diag dumps to compare without Linux.
func diagVariants() []diagVariant { return nil }
