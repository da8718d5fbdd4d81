//go:build linux || darwin

package discover

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGitFIFONoHang: a FIFO where a ref should be does not block the read.
func TestGitFIFONoHang(t *testing.T) {
	root := t.TempDir()
	forgedRepoAt(t, root, bytes.Repeat([]byte{0x11}, 20))
	ref := filepath.Join(root, ".git", "refs", "heads", "main")
	os.Remove(ref)
	if err := syscall.Mkfifo(ref, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	done := make(chan *Result, 1)
	go func() {
		res, _ := Discover(context.Background(), root, Options{})
		done <- res
	}()
	select {
	case res := <-done:
		if res == nil || !strings.Contains(res.GitNote, "not a regular file") {
			t.Errorf("result %+v", res)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("discovery blocked on a FIFO in .git")
	}
}
