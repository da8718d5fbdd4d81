//go:build !unix

package sign

import "errors"

func mkfifo(string) error { return errors.New("no FIFO on this system") }
