//go:build linux

package scan

import (
	"io/fs"
	"syscall"
)

// changeTime is the file's status change time, in nanoseconds.
func changeTime(info fs.FileInfo) (int64, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Ctim.Nano(), true
}
