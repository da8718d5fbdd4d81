//go:build !unix

package scan

import "os"

// openNonBlocking opens a file for reading; the caller checks its type.
func openNonBlocking(path string) (*os.File, error) { return os.Open(path) }
