package archive

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/bodgit/sevenzip"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// SevenZip hands the files of a 7z archive to the engine.
type SevenZip struct{}

// Name is "7z".
func (SevenZip) Name() string { return "7z" }

// Version is the analyzer's version.
func (SevenZip) Version() string { return "1" }

// Sniff checks the 7z signature.
func (SevenZip) Sniff(in *analyzer.Input) bool {
	return bytes.HasPrefix(in.Head, []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c})
}

// Analyze lists the archive and hands each file to the engine.
func (SevenZip) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	out.Format("7z")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	r, err := sevenzip.NewReader(ra, size)
	if err != nil {
		rule := finding.ArchiveUnreadable
		if strings.Contains(strings.ToLower(err.Error()), "password") {
			rule = finding.ArchiveEncrypted
		}
		rep.Report(rule, -1, "The 7z archive could not be read: "+err.Error(), "")
		return nil
	}
	if len(r.File) > in.Limits.MaxMembers {
		rep.Report(finding.LimitMembers, -1, "The 7z archive holds more members than the limit; the rest were not analyzed.", "")
	}
	for i, f := range r.File {
		if i >= in.Limits.MaxMembers {
			break
		}
		if f.FileInfo().IsDir() {
			continue
		}
		file := f
		m := analyzer.Member{Name: f.Name, Size: int64(f.UncompressedSize), CompressedSize: size,
			Open: func() (io.ReadCloser, error) { return file.Open() }}
		if err := out.Member(ctx, m); err != nil {
			return err
		}
	}
	return nil
}
