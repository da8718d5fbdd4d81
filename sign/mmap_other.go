//go:build !unix

package sign

import (
	"context"
	"hash"
	"os"
)

// hashMapped is not available here: the caller reads the file instead.
func hashMapped(context.Context, *os.File, int64, int64, hash.Hash) error { return errNoMmap }
