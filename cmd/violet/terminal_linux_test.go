package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// pty opens a pseudo-terminal: what is written to tty, which is a
// terminal, is read back from the returned function once tty is closed.
func pty(t *testing.T) (tty *os.File, output func() string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	var unlock int32
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skip("no pseudo-terminal:", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skip("no pseudo-terminal:", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Skip("no pseudo-terminal:", err)
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&buf, master) // ends with EIO when tty is closed
		close(done)
	}()
	return tty, func() string {
		tty.Close()
		<-done
		master.Close()
		return buf.String()
	}
}

// onTerminal runs violet with standard error (or standard output) on a
// terminal and returns the exit code, what reached the terminal and what
// went to the other stream.
func onTerminal(t *testing.T, stream string, args ...string) (int, string, string) {
	t.Helper()
	tty, output := pty(t)
	var other bytes.Buffer
	var code int
	if stream == "stderr" {
		code = run(args, &other, tty)
	} else {
		code = run(args, tty, &other)
	}
	return code, output(), other.String()
}

// TestProgressOnTerminal: the long runs of sign, verify, hash, bom and scan
// show a progress line when standard error is a terminal, cleared at the
// end, and none with -q; other tests check that none is written when
// standard error is not a terminal.
func TestProgressOnTerminal(t *testing.T) {
	_, keys := refKeys(t)
	model := t.TempDir()
	write(t, model, "model.pkl", clean)
	for _, tc := range []struct {
		args []string
		line string
	}{
		{[]string{"sign", model, "--key", filepath.Join(keys, "signing-key.pem")}, "signing " + model + " ("},
		{[]string{"verify", model, "--key", filepath.Join(keys, "signing-key-pub.pem")}, "verifying " + model + " ("},
		{[]string{"hash", model}, "hashing " + model + " ("},
		{[]string{"bom", "--scan", model}, "reading " + model + " ("},
		{[]string{"scan", model}, "scanned 2/2 files"}, // model.pkl and the model.sig sign wrote
	} {
		code, tty, _ := onTerminal(t, "stderr", tc.args...)
		if code != 0 || !strings.Contains(tty, tc.line) || !strings.HasSuffix(tty, "\r\x1b[K") {
			t.Errorf("violet %v: exit %d, terminal %q, want %q, cleared", tc.args, code, tty, tc.line)
		}
		code, tty, _ = onTerminal(t, "stderr", append([]string{"-q"}, tc.args...)...)
		if code != 0 || tty != "" {
			t.Errorf("violet -q %v: exit %d, terminal %q", tc.args, code, tty)
		}
	}
	if code, _, errOut := violet(t, "hash", model); code != 0 || errOut != "" {
		t.Errorf("hash, standard error not a terminal: exit %d, %q", code, errOut)
	}
}

// TestColorOnTerminal: the text report is coloured on a terminal, and not
// with --no-color, NO_COLOR, or another format.
func TestColorOnTerminal(t *testing.T) {
	bad := write(t, t.TempDir(), "evil.pkl", evil)
	const esc = "\x1b["
	if code, tty, _ := onTerminal(t, "stdout", "scan", bad); code != 1 || !strings.Contains(tty, esc) {
		t.Errorf("scan on a terminal: exit %d, %q", code, tty)
	}
	if code, tty, _ := onTerminal(t, "stdout", "scan", "--no-color", bad); code != 1 || strings.Contains(tty, esc) || !strings.Contains(tty, "PICKLE-PROCESS") {
		t.Errorf("scan --no-color: exit %d, %q", code, tty)
	}
	dir := t.TempDir()
	write(t, dir, "requirements.txt", []byte("torhc==2.6.0\n")) // a typosquat
	if code, tty, _ := onTerminal(t, "stdout", "deps", "-q", dir); code != 1 || !strings.Contains(tty, esc) {
		t.Errorf("deps on a terminal: exit %d, %q", code, tty)
	}
	t.Setenv("NO_COLOR", "1")
	if code, tty, _ := onTerminal(t, "stdout", "deps", "-q", dir); code != 1 || strings.Contains(tty, esc) || !strings.Contains(tty, "torhc") {
		t.Errorf("deps with NO_COLOR: exit %d, %q", code, tty)
	}
}
