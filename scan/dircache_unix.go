//go:build unix

package scan

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// privateFolder checks that info is a folder (not a link) of the user
// running Violet that no one else may read or write.
func privateFolder(info fs.FileInfo) error {
	if !info.IsDir() {
		return errors.New("not a folder")
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("owned by user %d, not by you (%d)", st.Uid, os.Getuid())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("open to others (mode %04o): chmod 700 it", perm)
	}
	return nil
}
