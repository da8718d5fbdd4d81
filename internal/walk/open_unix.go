//go:build unix

package walk

import "syscall"

// nonBlocking keeps an open of a FIFO or a device from waiting.
const nonBlocking = syscall.O_NONBLOCK
