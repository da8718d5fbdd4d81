//go:build !unix

package scan

import (
	"errors"
	"io/fs"
)

// privateFolder checks that info is a folder, not a link.
func privateFolder(info fs.FileInfo) error {
	if !info.IsDir() {
		return errors.New("not a folder")
	}
	return nil
}
