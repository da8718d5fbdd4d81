package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Stdin is the target that names standard input: its bytes are read as
// one file, reported under this name.
const Stdin = "-"

// openNamed opens a file named on the command line (links followed: the
// user named it) without blocking on a FIFO. A regular file is returned
// as it is; anything else (standard input, a pipe such as bash's
// <(...), a FIFO, a device) is a stream, copied to a temporary file first
// (spool), within the file's time budget and byte limit.
func openNamed(ctx context.Context, f file, limits spoolLimits) (fh *os.File, info os.FileInfo, spooled bool, err error) {
	if f.path == Stdin {
		fh = os.Stdin
	} else if fh, err = openNonBlocking(f.path); err != nil {
		return nil, nil, false, err
	}
	info, err = fh.Stat()
	if err == nil && info.Mode().IsRegular() {
		return fh, info, false, nil
	}
	if f.path != Stdin {
		defer fh.Close()
	}
	if err != nil {
		return nil, nil, false, err
	}
	if info.IsDir() {
		return nil, nil, false, fmt.Errorf("%s is a folder", f.path)
	}
	// Opened without waiting, a FIFO reads as empty until a writer opens
	// it: the spool waits for the first bytes, within the time budget.
	// The descriptor stays open meanwhile: a writer that wrote and closed
	// before the first read has left its bytes in the pipe for it.
	// (A pipe named through /dev/fd or /dev/stdin is a link to an
	// anonymous pipe, whose writer is already there: no wait.)
	if info.Mode()&os.ModeNamedPipe != 0 && f.path != Stdin {
		at, err := os.Lstat(f.path)
		limits.waitWriter = err == nil && at.Mode()&os.ModeNamedPipe != 0
	}
	tmp, err := spool(ctx, fh, limits)
	if err != nil {
		return nil, nil, false, err
	}
	info, err = tmp.Stat()
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, nil, false, err
	}
	return tmp, info, true, nil
}

// spoolLimits bound the copy of a stream: its bytes and its time.
type spoolLimits struct {
	maxBytes int64
	timeout  time.Duration
	// waitWriter: an end of stream before the first byte means no
	// program has opened the FIFO for writing yet, not an empty stream.
	waitWriter bool
}

// Errors of a stream that could not be read whole.
var (
	errStreamTooLarge = errors.New("byte limit reached")
	errStreamTimeout  = errors.New("time budget spent")
	errStreamEmpty    = errors.New("the stream held no bytes")
)

// spool copies the stream r to a new temporary file, at most
// limits.maxBytes, within limits.timeout. A stream that does not end in
// time (a FIFO nobody closes, a terminal) or that is too large is an
// error, so is an empty one: nothing was read, nothing can be called
// clean. The copy runs in its own goroutine, so that a read that blocks
// where no deadline can reach it (a device) does not hold the scan.
func spool(ctx context.Context, r *os.File, limits spoolLimits) (*os.File, error) {
	tmp, err := os.CreateTemp("", "violet-stream-*")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*os.File, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	deadline := time.Now().Add(limits.timeout)
	_ = r.SetReadDeadline(deadline) // a pipe or a FIFO honours it; a device does not
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	var src io.Reader = readerOnly{r}
	if limits.waitWriter {
		src = &fifoReader{r: r, deadline: deadline}
	}
	go func() {
		n, err := io.Copy(tmp, io.LimitReader(src, limits.maxBytes+1))
		done <- result{n, err}
	}()
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	select {
	case res := <-done:
		switch {
		case errors.Is(res.err, os.ErrDeadlineExceeded):
			return fail(fmt.Errorf("the stream did not end within %s (%w)", limits.timeout, errStreamTimeout))
		case res.err != nil:
			return fail(res.err)
		case res.n > limits.maxBytes:
			return fail(fmt.Errorf("the stream is longer than %d bytes (%w)", limits.maxBytes, errStreamTooLarge))
		case res.n == 0:
			return fail(errStreamEmpty)
		}
		return tmp, nil
	case <-ctx.Done():
		// The reader is left blocked; the temporary file is removed now
		// (the goroutine's writes then go to an unlinked file).
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("the stream did not end within %s (%w)", limits.timeout, errStreamTimeout)
	}
}

// fifoReader reads a FIFO opened without waiting: until the first byte
// arrives, an end of stream means that no writer has opened it yet, and
// the read is tried again (every 10 ms) until the deadline.
type fifoReader struct {
	r        io.Reader
	deadline time.Time
	got      bool
}

func (f *fifoReader) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		if n > 0 {
			f.got = true
			return n, err
		}
		if err != io.EOF || f.got {
			return n, err
		}
		if time.Now().After(f.deadline) {
			return 0, fmt.Errorf("no program wrote to the FIFO: %w", os.ErrDeadlineExceeded)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readerOnly hides every method of a reader but Read, so that io.Copy
// reads it with Read (an *os.File would be copied with splice or
// sendfile, which ignore its read deadline).
type readerOnly struct{ r io.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }

// ctxReaderAt is a ReaderAt that stops once its context is done, so that
// the time budget of a file bounds every read of it, whichever analyzer
// reads and however many times (a sparse file of 100 GB read in chunks).
type ctxReaderAt struct {
	ctx context.Context
	ra  io.ReaderAt
}

// maxReadChunk is the most one ReadAt of a ctxReaderAt asks of the file
// at once, so that a single large read also meets the time budget.
const maxReadChunk = 4 << 20

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		if err := c.ctx.Err(); err != nil {
			return n, err
		}
		m, err := c.ra.ReadAt(p[n:min(len(p), n+maxReadChunk)], off+int64(n))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
