// Package archive holds the analyzers of containers: zip (and the formats
// built on it: PyTorch checkpoints, TorchScript archives, NumPy .npz), tar,
// 7z, and the single-stream compressors gzip, bzip2, xz, lzma, zlib and lz4.
// None of them recurses: each hands its members back to the engine, which
// enforces the limits and analyzes them.
package archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/analyzer/archive/zipreader"
	"github.com/violet-mlsecops/violet/finding"
)

// Zip reads zip archives the way model loaders do (see zipreader) and hands
// every member to the engine, not only the ones a loader would open.
type Zip struct{}

// ZipName is the name of the Zip analyzer (violet scan --analyzers, the report's tool.analyzers).
const ZipName = "zip"

// Name is ZipName.
func (Zip) Name() string { return ZipName }

// Version is the analyzer's version.
func (Zip) Version() string { return "2" }

// Sniff accepts a local file header or an empty archive's end record at
// offset 0, or an end record at the end of the input (data prepended to an
// archive, as in a polyglot file).
func (Zip) Sniff(in *analyzer.Input) bool {
	if bytes.HasPrefix(in.Head, []byte("PK\x03\x04")) || bytes.HasPrefix(in.Head, []byte("PK\x05\x06")) {
		return true
	}
	if !in.HasReaderAt() || in.Size < 22 {
		return false
	}
	ra, size, _ := in.ReaderAt()
	tail := make([]byte, min(size, 22+0xffff))
	if _, err := ra.ReadAt(tail, size-int64(len(tail))); err != nil {
		return false
	}
	i := lastIndex(tail, []byte("PK\x05\x06"))
	return i >= 0 && len(tail)-i >= 22 && bytes.Contains(tail[:i], []byte("PK\x01\x02"))
}

// lastIndex is bytes.LastIndex by forward, vectorized searches: the tail
// of every member is searched, and bytes.LastIndex is a byte-by-byte loop.
func lastIndex(b, sep []byte) int {
	last := -1
	for off := 0; ; {
		i := bytes.Index(b[off:], sep)
		if i < 0 {
			return last
		}
		last = off + i
		off = last + 1
	}
}

// zipFormats names the formats built on zip by the members they hold.
var zipFormats = []struct {
	format string
	match  func(names []string) bool
}{
	{"torchscript", func(names []string) bool { return anyBase(names, "constants.pkl") && anyDir(names, "code") }},
	{"pytorch-zip", func(names []string) bool { return anyBase(names, "data.pkl") }},
	{"numpy-npz", func(names []string) bool { return allExt(names, ".npy") }},
}

func anyBase(names []string, base string) bool {
	for _, n := range names {
		if path.Base(n) == base {
			return true
		}
	}
	return false
}

func anyDir(names []string, dir string) bool {
	for _, n := range names {
		if strings.Contains("/"+n, "/"+dir+"/") {
			return true
		}
	}
	return false
}

func allExt(names []string, ext string) bool {
	for _, n := range names {
		if !strings.HasSuffix(n, ext) {
			return false
		}
	}
	return len(names) > 0
}

// Analyze lists the archive, reports the anomalies of its headers, and
// hands every member to the engine.
func (z Zip) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	rep := analyzer.Reporter{Out: out, In: in}
	var readAnomalies []zipreader.Anomaly
	a, err := zipreader.Open(ra, size, zipreader.Options{
		MaxEntries: in.Limits.MaxMembers,
		OnAnomaly:  func(an zipreader.Anomaly) { readAnomalies = append(readAnomalies, an) },
	})
	if err != nil {
		rep.Report(finding.ArchiveUnreadable, -1, "The zip archive could not be read: "+err.Error(), "")
		return nil
	}
	names := make([]string, len(a.Entries))
	for i, e := range a.Entries {
		names[i] = e.Name
	}
	format := "zip"
	for _, f := range zipFormats {
		if f.match(names) {
			format = f.format
			break
		}
	}
	out.Format(format)
	anomalies := anomalyReporter{rep: rep, size: size, seen: map[string]int{}}
	for _, an := range a.Anomalies {
		anomalies.report(an)
	}
	if a.Truncated {
		rep.Report(finding.LimitMembers, -1, fmt.Sprintf("The archive holds more than %d entries; the rest were not analyzed.", in.Limits.MaxMembers), "")
	}
	escapes := escapeReporter{rep: rep}
	for _, e := range a.Entries {
		escapes.name(inside(e.HeaderOffset, size), e.Name)
		if e.Symlink && !e.Encrypted {
			if target, ok := linkTarget(a, e); ok {
				escapes.link(inside(e.HeaderOffset, size), e.Name, target, false)
			} else {
				rep.Report(finding.ArchivePathEscape, inside(e.HeaderOffset, size), fmt.Sprintf("The member %q is a symbolic link whose target could not be read (longer than %d bytes or unreadable): extracting it may reach a file outside the archive's folder.", e.Name, maxLinkTarget), e.Name)
			}
		}
	}
	for _, e := range a.Entries {
		if strings.HasSuffix(e.Name, "/") && e.UncompressedSize <= 0 {
			continue // a folder
		}
		if e.Encrypted {
			rep.Report(finding.ArchiveEncrypted, e.HeaderOffset, "The member "+e.Name+" is encrypted and could not be analyzed.", e.Name)
			continue
		}
		m := analyzer.Member{Name: e.Name, Size: e.UncompressedSize, CompressedSize: e.CompressedSize}
		if r, ok := a.ReaderAt(e); ok {
			m.ReaderAt = r
			if m.Size < 0 { // streamed with a data descriptor: read what is there
				m.Size = r.Size()
			}
		} else {
			entry := e
			m.Open = func() (io.ReadCloser, error) { return a.Open(entry) }
		}
		if err := out.Member(ctx, m); err != nil {
			return err
		}
	}
	for _, an := range readAnomalies {
		anomalies.report(an)
	}
	anomalies.summarize()
	return nil
}

// inside returns off, or -1 (the whole input) when off is not a byte of
// an input of size bytes: an anomaly may be about an offset that a header
// declares, outside the file.
func inside(off, size int64) int64 {
	if off < 0 || off >= size {
		return -1
	}
	return off
}

// maxAnomaliesPerKind bounds the findings of one kind of anomaly in one
// archive: a crafted archive can hold one per entry.
const maxAnomaliesPerKind = 20

// anomalyReporter reports anomalies, at most maxAnomaliesPerKind of each
// kind, then one finding that counts the rest.
type anomalyReporter struct {
	rep  analyzer.Reporter
	size int64
	seen map[string]int
}

func (r *anomalyReporter) report(an zipreader.Anomaly) {
	r.seen[an.Kind]++
	if r.seen[an.Kind] <= maxAnomaliesPerKind {
		r.rep.Report(finding.ArchiveZipAnomaly, inside(an.Offset, r.size), zipAnomalyMessage(an), an.Entry)
	}
}

func (r *anomalyReporter) summarize() {
	kinds := make([]string, 0, len(r.seen))
	for kind := range r.seen {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		if n := r.seen[kind]; n > maxAnomaliesPerKind {
			r.rep.Report(finding.ArchiveZipAnomaly, -1, fmt.Sprintf("Zip anomaly (%s): %d more entries like the ones above.", kind, n-maxAnomaliesPerKind), "")
		}
	}
}

func zipAnomalyMessage(an zipreader.Anomaly) string {
	msg := "Zip anomaly (" + string(an.Kind) + ")"
	if an.Entry != "" {
		msg += " in " + an.Entry
	}
	if an.Detail != "" {
		msg += ": " + an.Detail
	}
	return msg + "."
}

// maxLinkTarget is the longest symbolic link target read from a zip entry
// (PATH_MAX on Linux).
const maxLinkTarget = 4096

// linkTarget reads the target of a zip entry marked as a symbolic link: its
// data, at most maxLinkTarget bytes.
func linkTarget(a *zipreader.Archive, e *zipreader.Entry) (string, bool) {
	if e.UncompressedSize > maxLinkTarget {
		return "", false
	}
	rc, err := a.Open(e)
	if err != nil {
		return "", false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
	if err != nil || len(b) > maxLinkTarget {
		return "", false
	}
	return string(b), true
}
