package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// memberInput builds the input of a container member. A stored member is
// read in place; a compressed one is a stream, counted against the file's
// budget, whose head is read for sniffing and replayed to the analyzer, and
// which is copied to a temporary file only if an analyzer needs random
// access. The returned function releases it.
func (s *fileScan) memberInput(loc finding.Location, m analyzer.Member, depth int) (*analyzer.Input, func(), error) {
	name := path.Base(m.Name)
	limits := &s.opts.Limits
	if m.ReaderAt != nil {
		if m.Size < 0 {
			// An analyzer's mistake, never a clean member: reported as unreadable.
			return nil, nil, errors.New("member has random access but no size")
		}
		// A small member is read whole, as a small file is (see scanFile).
		small := m.Size >= 0 && m.Size <= smallFile
		buf := make([]byte, max(min(m.Size, analyzer.HeadSize), 0))
		if small {
			buf = make([]byte, m.Size)
		}
		n, err := m.ReaderAt.ReadAt(buf, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, err
		}
		buf = buf[:n]
		head := buf[:min(n, analyzer.HeadSize)]
		ra := m.ReaderAt
		if small && int64(n) == m.Size {
			ra = bytes.NewReader(buf)
		}
		return analyzer.NewInput(loc, name, m.Size, head, depth, limits, ra, nil, nil), func() {}, nil
	}
	if m.Open == nil {
		return nil, nil, errors.New("member has no content")
	}
	rc, err := m.Open()
	if err != nil {
		return nil, nil, err
	}
	cr := &countingReader{r: rc, b: &s.budget, compressed: m.CompressedSize,
		maxRatio: limits.MaxRatio, floor: limits.RatioFloor}
	head := make([]byte, analyzer.HeadSize)
	// Not io.ReadFull: it reports a short read as io.ErrUnexpectedEOF, the
	// error of a truncated compressed stream too, which must not pass for
	// the end of a short member.
	n := 0
	for n < len(head) && err == nil {
		var k int
		k, err = cr.Read(head[n:])
		n += k
	}
	head = head[:n]
	switch {
	case errors.Is(err, io.EOF):
		// The whole member is in head.
		rc.Close()
		return analyzer.NewInput(loc, name, int64(n), head, depth, limits, bytes.NewReader(head), nil, nil), func() {}, nil
	case err != nil:
		rc.Close()
		return nil, nil, err
	}
	used := false
	stream := func() io.Reader { return io.MultiReader(bytes.NewReader(head), cr) }
	open := func() (io.ReadCloser, error) {
		if used {
			return nil, fmt.Errorf("member %s: stream already read", m.Name)
		}
		used = true
		return io.NopCloser(stream()), nil
	}
	spool := func() (io.ReaderAt, int64, error) {
		if used {
			return nil, 0, fmt.Errorf("member %s: stream already read", m.Name)
		}
		used = true
		f, err := os.CreateTemp("", "violet-member-*")
		if err != nil {
			return nil, 0, err
		}
		s.temps = append(s.temps, f)
		size, err := io.Copy(f, stream())
		if err != nil {
			return nil, 0, err
		}
		return f, size, nil
	}
	return analyzer.NewInput(loc, name, m.Size, head, depth, limits, nil, open, spool), func() { rc.Close() }, nil
}
