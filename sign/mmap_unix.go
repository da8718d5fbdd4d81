//go:build unix

package sign

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"os"
	"runtime/debug"
	"syscall"
)

// mmapWindow is how much of a file is mapped at a time.
const mmapWindow = 256 << 20

// hashMapped hashes bytes [start, end) of f by mapping them into memory, a
// window at a time, which saves the copy out of the page cache that read
// makes. A file truncated while it is mapped makes reading the lost pages
// fault; the fault is turned into an error, never a crash.
func hashMapped(ctx context.Context, f *os.File, start, end int64, h hash.Hash) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the file changed while being hashed: %v", r)
		}
	}()
	page := int64(os.Getpagesize())
	for off := start; off < end; {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := off - off%page
		n := min(end-base, mmapWindow)
		data, err := syscall.Mmap(int(f.Fd()), base, int(n), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			return errors.Join(errNoMmap, err)
		}
		_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
		h.Write(data[off-base:])
		off = base + n
		if err := syscall.Munmap(data); err != nil {
			return err
		}
	}
	return nil
}
