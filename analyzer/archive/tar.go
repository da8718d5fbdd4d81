package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// Tar hands the regular files of a tar archive to the engine. On a file
// with random access, members are read in place; in a compressed tarball
// they are read in order from the stream.
type Tar struct{}

// TarName is the name of the Tar analyzer (violet scan --analyzers, the report's tool.analyzers).
const TarName = "tar"

// Name is TarName.
func (Tar) Name() string { return TarName }

// Version is the analyzer's version.
func (Tar) Version() string { return "2" }

// Sniff accepts a POSIX or GNU header ("ustar" magic) or a V7 header whose
// checksum is right.
func (Tar) Sniff(in *analyzer.Input) bool {
	h := in.Head
	if len(h) < 512 {
		return false
	}
	if bytes.Equal(h[257:262], []byte("ustar")) {
		return true
	}
	return tarChecksumOK(h[:512])
}

// tarChecksumOK checks a header block's checksum (field at 148, 8 bytes).
func tarChecksumOK(b []byte) bool {
	field := bytes.TrimRight(bytes.TrimLeft(b[148:156], " \x00"), " \x00")
	want, err := strconv.ParseUint(string(field), 8, 32)
	if err != nil || len(field) == 0 || b[0] == 0 {
		return false
	}
	var sum uint64
	for i, c := range b {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += uint64(c)
	}
	return sum == want
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Analyze walks the archive.
func (Tar) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("tar")
	rep := analyzer.Reporter{Out: out, In: in}
	var src io.Reader
	var ra io.ReaderAt
	if in.HasReaderAt() {
		ra, _, _ = in.ReaderAt()
		src = io.NewSectionReader(ra, 0, in.Size)
	} else {
		rc, err := in.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		src = rc
	}
	cnt := &counter{r: src}
	tr := tar.NewReader(cnt)
	escapes := escapeReporter{rep: rep}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			rep.Report(finding.ArchiveUnreadable, cnt.n, "The tar archive could not be read past this point: "+err.Error(), "")
			return nil
		}
		escapes.name(-1, hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			escapes.link(-1, hdr.Name, hdr.Linkname, false)
		case tar.TypeLink:
			escapes.link(-1, hdr.Name, hdr.Linkname, true)
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeGNUSparse {
			continue
		}
		m := analyzer.Member{Name: hdr.Name, Size: hdr.Size, CompressedSize: -1}
		if ra != nil && hdr.Typeflag != tar.TypeGNUSparse {
			m.ReaderAt = io.NewSectionReader(ra, cnt.n, hdr.Size)
		} else {
			m.Open = func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }
		}
		if err := out.Member(ctx, m); err != nil {
			return err
		}
	}
}
