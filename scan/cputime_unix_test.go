//go:build unix

package scan

import "syscall"

// cpuTime is the CPU time (user and system) the process has used, in
// nanoseconds, or -1: unlike the wall time, it barely moves when other
// work shares the machine.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
