package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/bodgit/sevenzip"
	"github.com/stangelandcl/ppmd"
	"github.com/ulikunitz/xz/lzma"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// SevenZip hands the files of a 7z archive to the engine.
type SevenZip struct{}

// SevenZipName is the name of the SevenZip analyzer (violet scan --analyzers, the report's tool.analyzers).
const SevenZipName = "7z"

// Name is SevenZipName.
func (SevenZip) Name() string { return SevenZipName }

// Version is the analyzer's version.
func (SevenZip) Version() string { return "2" }

// Sniff checks the 7z signature.
func (SevenZip) Sniff(in *analyzer.Input) bool {
	return bytes.HasPrefix(in.Head, []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c})
}

// Analyze lists the archive and hands each file to the engine.
func (SevenZip) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	registerBoundedCoders()
	out.Format("7z")
	rep := analyzer.Reporter{Out: out, In: in}
	ra, size, err := in.ReaderAt()
	if err != nil {
		return err
	}
	r, st, err := openSevenZip(ra, size)
	if err != nil {
		rule := finding.ArchiveUnreadable
		if strings.Contains(strings.ToLower(err.Error()), "password") {
			rule = finding.ArchiveEncrypted
		}
		rep.Report(rule, -1, "The 7z archive could not be read: "+err.Error(), "")
		return nil
	}
	if st.encryptedFolders > 0 {
		rep.Report(finding.ArchiveEncrypted, -1, fmt.Sprintf("%d of the 7z archive's folders are AES-encrypted: their members could not be analyzed (a reader without the password decrypts them to noise).", st.encryptedFolders), "")
	}
	if len(r.File) > in.Limits.MaxMembers {
		rep.Report(finding.LimitMembers, -1, "The 7z archive holds more members than the limit; the rest were not analyzed.", "")
	}
	escapes := escapeReporter{rep: rep}
	for i, f := range r.File {
		if i >= in.Limits.MaxMembers {
			break
		}
		escapes.name(-1, f.Name)
		if f.FileInfo().IsDir() {
			continue
		}
		file := f
		m := analyzer.Member{Name: f.Name, Size: int64(f.UncompressedSize), CompressedSize: size,
			Open: func() (rc io.ReadCloser, err error) {
				defer recovered(&err)
				rc, err = file.Open()
				if err != nil {
					return nil, err
				}
				return safeReader{rc}, nil
			}}
		if err := out.Member(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// The 7z library panics on some crafted archives (a nil folder in
// streamsInfo.FileFolderAndSize): its panics are turned into errors, which
// the engine reports, so that none reaches the user.

// recovered turns a panic of the 7z library into *err.
func recovered(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("the 7z reader failed: %v", v)
	}
}

// openSevenZip opens the 7z archive ra of size bytes, once its header is
// known not to make the library allocate without bound.
func openSevenZip(ra io.ReaderAt, size int64) (r *sevenzip.Reader, st *szStats, err error) {
	defer recovered(&err)
	if st, err = checkSevenZipHeader(ra, size); err != nil {
		return nil, nil, err
	}
	r, err = sevenzip.NewReader(ra, size)
	return r, st, err
}

// safeReader reads a 7z member, turning a panic of a decoder into an error.
type safeReader struct{ rc io.ReadCloser }

func (s safeReader) Read(p []byte) (n int, err error) {
	defer recovered(&err)
	return s.rc.Read(p)
}

func (s safeReader) Close() (err error) {
	defer recovered(&err)
	return s.rc.Close()
}

// maxCoderMemory bounds the memory a 7z coder may take: the LZMA and LZMA2
// dictionaries and the PPMd model sizes come from the archive's header, and
// the decoders allocate them in full (2 GiB for an archive of 160 bytes).
// An LZMA dictionary is lowered to the bound (content up to that size never
// needs more); a PPMd model cannot be, and a larger one is refused.
const maxCoderMemory = 64 << 20

// registerBoundedCoders replaces the library's LZMA, LZMA2 and PPMd
// decoders with the bounded ones, once, before the first 7z is read. The
// library's registry is global, so this is done explicitly on first use
// rather than at package initialization.
var registerBoundedCoders = sync.OnceFunc(func() {
	sevenzip.RegisterDecompressor([]byte{0x03, 0x01, 0x01}, boundedLZMA)
	sevenzip.RegisterDecompressor([]byte{0x21}, boundedLZMA2)
	sevenzip.RegisterDecompressor([]byte{0x03, 0x04, 0x01}, boundedPPMd)
})

// coderReader reads from r and closes c, the coder's input.
type coderReader struct {
	r io.Reader
	c io.Closer
}

func (cr *coderReader) Read(p []byte) (int, error) { return cr.r.Read(p) }

func (cr *coderReader) Close() error { return cr.c.Close() }

func boundedLZMA(props []byte, size uint64, in []io.ReadCloser) (io.ReadCloser, error) {
	if len(in) != 1 || len(props) != 5 {
		return nil, errors.New("lzma: bad coder properties")
	}
	h := binary.LittleEndian.AppendUint64(bytes.Clone(props), size)
	if binary.LittleEndian.Uint32(h[1:5]) > maxCoderMemory {
		binary.LittleEndian.PutUint32(h[1:5], maxCoderMemory)
	}
	r, err := lzma.NewReader(io.MultiReader(bytes.NewReader(h), in[0]))
	if err != nil {
		return nil, err
	}
	return &coderReader{r, in[0]}, nil
}

func boundedLZMA2(props []byte, _ uint64, in []io.ReadCloser) (io.ReadCloser, error) {
	if len(in) != 1 || len(props) != 1 || props[0] > 40 {
		return nil, errors.New("lzma2: bad coder properties")
	}
	dict := (2 | int64(props[0])&1) << (props[0]/2 + 11) // as Lzma2Dec.c computes it
	r, err := lzma.Reader2Config{DictCap: int(min(dict, maxCoderMemory))}.NewReader2(in[0])
	if err != nil {
		return nil, err
	}
	return &coderReader{r, in[0]}, nil
}

func boundedPPMd(props []byte, size uint64, in []io.ReadCloser) (io.ReadCloser, error) {
	if len(in) != 1 || len(props) != 5 {
		return nil, errors.New("ppmd: bad coder properties")
	}
	mem := binary.LittleEndian.Uint32(props[1:])
	if mem > maxCoderMemory*4 {
		return nil, fmt.Errorf("ppmd: a model of %d bytes is larger than %d", mem, maxCoderMemory*4)
	}
	r, err := ppmd.NewH7zReader(in[0], int(props[0]), int(mem), int(min(size, 1<<62)))
	if err != nil {
		return nil, err
	}
	return &coderReader{&r, in[0]}, nil
}
