//go:build !unix

package scan

import "os"

// nonBlocking is 0 where opens do not block on FIFOs.
const nonBlocking = 0

// openNonBlocking opens a file for reading; the caller checks its type.
func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
