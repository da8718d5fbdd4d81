//go:build unix

package scan

import (
	"os"
	"syscall"
)

// openNonBlocking opens a file for reading without waiting on a FIFO or a
// device: the caller checks the type on the descriptor.
func openNonBlocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
