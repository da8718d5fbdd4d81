//go:build unix

package scan

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/pickle"
	"github.com/violet-mlsecops/violet/finding"
	tu "github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/report"
)

var streamPayload = tu.NewPickle(2).Call("posix", "system", "id").Stop().Bytes()

// shortLimits are the default limits with a time budget of d.
func shortLimits(d time.Duration) analyzer.Limits {
	l := analyzer.DefaultLimits()
	l.Timeout = d
	return l
}

// scanTargets scans targets with every analyzer and the given limits.
func scanTargets(t *testing.T, limits analyzer.Limits, targets ...string) *report.Report {
	t.Helper()
	r, err := Scan(context.Background(), targets, Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: limits})
	if err != nil {
		t.Fatalf("scan %v: %v", targets, err)
	}
	return r
}

// pipeWith returns the read end of a pipe that a goroutine fills with data
// and closes.
func pipeWith(t *testing.T, data []byte) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(data)
		w.Close()
	}()
	t.Cleanup(func() { r.Close() })
	return r
}

// TestStdinTarget: "-" reads standard input as the content of a file and
// judges it (cat model.pt | violet scan -), exactly once a scan.
func TestStdinTarget(t *testing.T) {
	old := os.Stdin
	t.Cleanup(func() { os.Stdin = old })
	os.Stdin = pipeWith(t, streamPayload)
	r := scanTargets(t, analyzer.DefaultLimits(), Stdin)
	if len(r.Files) != 1 || r.Files[0].Path != Stdin || limFinding(r, finding.PickleProcess) == nil || r.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("standard input: %+v\n%s", r.Files, limDescribe(r))
	}
	if _, err := Scan(context.Background(), []string{Stdin, Stdin}, Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: analyzer.DefaultLimits()}); err == nil {
		t.Error("standard input named twice: no error")
	}
}

// TestPipeTarget: a pipe named by its path (/dev/stdin, bash's <(...),
// which is /dev/fd/N) is read as a stream and judged, not skipped.
func TestPipeTarget(t *testing.T) {
	r := pipeWith(t, streamPayload)
	rep := scanTargets(t, analyzer.DefaultLimits(), fmt.Sprintf("/dev/fd/%d", r.Fd()))
	if limFinding(rep, finding.PickleProcess) == nil || rep.ExitCode(finding.High) != report.ExitFindings {
		t.Errorf("a pipe: %s", limDescribe(rep))
	}
}

// TestEmptyStream: a stream that holds nothing is not a clean file: the
// scan cannot say what it did not read (exit 2).
func TestEmptyStream(t *testing.T) {
	r := pipeWith(t, nil)
	limExpect(t, scanTargets(t, analyzer.DefaultLimits(), fmt.Sprintf("/dev/fd/%d", r.Fd())), finding.ScanError, report.ExitIncomplete)
}

// TestStreamTooLarge: a stream longer than the byte limit is incomplete,
// not scanned in part and passed.
func TestStreamTooLarge(t *testing.T) {
	r := pipeWith(t, bytes.Repeat([]byte{'x'}, 4096))
	limits := analyzer.DefaultLimits()
	limits.MaxTotalBytes = 1000
	limExpect(t, scanTargets(t, limits, fmt.Sprintf("/dev/fd/%d", r.Fd())), finding.LimitSize, report.ExitFindings) // LIMIT-SIZE is high
}

// TestFIFOTarget: a FIFO named on the command line is read once a program
// writes to it; one that nobody writes to ends with the time budget as
// LIMIT-TIME (exit 2) instead of hanging the scan.
func TestFIFOTarget(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model.pkl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	limExpect(t, scanTargets(t, shortLimits(300*time.Millisecond), fifo), finding.LimitTime, report.ExitIncomplete)

	go func() {
		time.Sleep(50 * time.Millisecond)
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Write(streamPayload)
		w.Close()
	}()
	r := scanTargets(t, shortLimits(time.Minute), fifo)
	if limFinding(r, finding.PickleProcess) == nil {
		t.Errorf("a FIFO with a writer: %s", limDescribe(r))
	}
}

// TestFIFOInFolderNotOpened: a FIFO inside a scanned folder is not a
// file to read and is never opened (an open of it would wait for a
// writer).
func TestFIFOInFolderNotOpened(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.bin"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	tu.WriteFile(t, dir, "model.pkl", streamPayload)
	r := scanTargets(t, shortLimits(time.Minute), dir)
	if len(r.Files) != 1 || limFinding(r, finding.PickleProcess) == nil {
		t.Errorf("%+v\n%s", r.Files, limDescribe(r))
	}
}

// TestSwappedAfterWalk: a file the walk listed and that is replaced before
// it is opened (by a FIFO, by a link inside the folder, by a link out of
// it) is not read through the replacement: the file is incomplete (exit
// 2), the open never waits, and nothing outside the folder is read.
func TestSwappedAfterWalk(t *testing.T) {
	outside := tu.WriteFile(t, t.TempDir(), "secret.pkl", streamPayload)
	swaps := map[string]func(dir, path string) error{
		"a FIFO": func(_, path string) error { return syscall.Mkfifo(path, 0o600) },
		"a link inside the folder": func(dir, path string) error {
			tu.WriteFile(t, dir, "other.pkl", streamPayload)
			return os.Symlink("other.pkl", path)
		},
		"a link out of the folder": func(_, path string) error { return os.Symlink(outside, path) },
		"a folder":                 func(_, path string) error { return os.Mkdir(path, 0o755) },
	}
	for name, swap := range swaps {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := tu.WriteFile(t, dir, "model.pkl", []byte("benign text\n"))
			files, err := walk([]string{dir}, nil, "", nil)
			if err != nil || len(files) != 1 {
				t.Fatalf("walk: %v %+v", err, files)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := swap(dir, path); err != nil {
				t.Skipf("swap: %v", err)
			}
			opts := Options{Analyzers: Analyzers(pickle.DefaultPolicy()), Limits: shortLimits(time.Minute)}
			res := scanFile(context.Background(), files[0], &opts, &worker{})
			rep := &report.Report{Files: []report.File{res}}
			if !res.Incomplete || rep.ExitCode(finding.High) == report.ExitPass || limFinding(rep, finding.PickleProcess) != nil && name == "a link out of the folder" {
				t.Errorf("swapped for %s: %+v\n%s", name, res, limDescribe(rep))
			}
		})
	}
}

// TestSparseFileTimeBudget: a sparse file of 100 GB with a zip at its end
// is read in chunks that each check the file's time budget: the scan
// reports LIMIT-TIME (exit 2) instead of reading holes for minutes past
// --timeout. (The bound checked is a hang's, 60 times the budget, not a
// speed: the benchmarks measure speed.)
func TestSparseFileTimeBudget(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("a.txt")
	w.Write([]byte("hi"))
	zw.Close()
	path := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(buf.Bytes(), 100<<30); err != nil {
		f.Close()
		t.Skipf("no sparse file of 100 GB here: %v", err)
	}
	f.Close()
	r := scanTargets(t, shortLimits(time.Second), path)
	limExpect(t, r, finding.LimitTime, report.ExitIncomplete)
	if d := time.Duration(r.DurationMS) * time.Millisecond; d > time.Minute {
		t.Errorf("the scan of a file with a budget of 1s took %s", d)
	}
}

// TestCtxReaderAt: a read through ctxReaderAt stops at the first chunk
// after its context ends.
func TestCtxReaderAt(t *testing.T) {
	data := make([]byte, 3*maxReadChunk)
	ctx, cancel := context.WithCancel(context.Background())
	n, err := ctxReaderAt{ctx, bytes.NewReader(data)}.ReadAt(make([]byte, len(data)), 0)
	if n != len(data) || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	cancel()
	n, err = ctxReaderAt{ctx, bytes.NewReader(data)}.ReadAt(make([]byte, len(data)), 0)
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: read %d, %v", n, err)
	}
}

// TestFIFOWriterDoneFirst: a writer that writes its bytes and closes the
// FIFO before the scan reads them (it could open the FIFO as soon as the
// scan opened it) is read: the scan keeps the FIFO open until it has read
// what is in it, rather than closing it and waiting for a new writer.
func TestFIFOWriterDoneFirst(t *testing.T) {
	for i := range 20 {
		fifo := filepath.Join(t.TempDir(), fmt.Sprintf("model-%d.pkl", i))
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		go func() {
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			w.Write(streamPayload)
			w.Close()
		}()
		r := scanTargets(t, shortLimits(5*time.Second), fifo)
		if limFinding(r, finding.PickleProcess) == nil {
			t.Fatalf("run %d: %s", i, limDescribe(r))
		}
	}
}
