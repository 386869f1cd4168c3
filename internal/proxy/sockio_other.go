//go:build !linux

package proxy

import "syscall"

const rawSyscalls = false

func sysRead(fd uintptr, p []byte) (int, syscall.Errno)  { return 0, syscall.ENOSYS }
func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) { return 0, syscall.ENOSYS }
