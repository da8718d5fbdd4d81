package archive

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"

	"github.com/ulikunitz/xz/lzma"
)

// The 7z library allocates slices from the counts of an archive's header,
// bounded only to 2^32 (4 GiB of file headers for a header of 10 bytes),
// before it checks the header's CRC. checkSevenZipHeader walks the header
// first, in the library's order and with its ids (types.go of
// github.com/bodgit/sevenzip), without allocating from the counts, and
// refuses the archive when a count would make the library allocate more
// than a bound: every count at most the bits left in the header and at
// most maxSevenZipCount, a coder's streams at most maxSevenZipStreams,
// every property within the header. An encoded header is decoded here,
// from a single LZMA, LZMA2 or Copy coder, to at most maxSevenZipHeader
// bytes, and walked the same way.
const (
	// maxSevenZipCount bounds the files, folders, pack streams and
	// substreams of an archive (the engine refuses more members anyway).
	maxSevenZipCount = 1 << 20
	// maxSevenZipStreams bounds the coders of a folder and their in and
	// out streams, as 7-Zip does.
	maxSevenZipStreams = 64
	// maxSevenZipHeader bounds the decoded size of an encoded header.
	maxSevenZipHeader = 64 << 20
	// maxSevenZipListing bounds the steps the library takes to find the
	// folder of each file, a loop over the folders for each file.
	maxSevenZipListing = 1 << 31
)

// 7z property ids, as in 7zFormat.txt.
const (
	szEnd = iota
	szHeader
	szArchiveProperties
	szAdditionalStreamsInfo
	szMainStreamsInfo
	szFilesInfo
	szPackInfo
	szUnpackInfo
	szSubStreamsInfo
	szSize
	szCRC
	szFolder
	szCodersUnpackSize
	szNumUnpackStream
	szEmptyStream
	szEmptyFile
	szAnti
	szName
	szCTime
	szATime
	szMTime
	szWinAttributes
	szComment
	szEncodedHeader
	szStartPos
	szDummy
)

// errSevenZipEncrypted is returned for an archive whose header is
// encrypted: its files cannot be listed without the password.
var errSevenZipEncrypted = errors.New("the 7z header is encrypted; a password is needed to list the files")

// Coder ids of an encoded header.
var (
	szCopy  = []byte{0x00}
	szLZMA  = []byte{0x03, 0x01, 0x01}
	szLZMA2 = []byte{0x21}
	szAES   = []byte{0x06, 0xf1, 0x07, 0x01}
)

// checkSevenZipHeader validates the header of the 7z archive ra of size
// bytes before the library reads it.
func checkSevenZipHeader(ra io.ReaderAt, size int64) (*szStats, error) {
	st := &szStats{}
	return st, checkHeaderInto(ra, size, st)
}

// szStats is what the walk of a header learns that the library hides.
type szStats struct {
	// encryptedFolders counts the content folders with an AES coder: the
	// library decrypts them with an empty password, which yields noise.
	encryptedFolders uint64
}

func checkHeaderInto(ra io.ReaderAt, size int64, st *szStats) error {
	var sig [32]byte
	if _, err := ra.ReadAt(sig[:], 0); err != nil {
		return fmt.Errorf("7z header: reading the signature header: %w", err)
	}
	if !bytes.HasPrefix(sig[:], []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}) {
		return errors.New("7z header: no signature at the start")
	}
	if crc32.ChecksumIEEE(sig[12:32]) != binary.LittleEndian.Uint32(sig[8:]) {
		return nil // the library refuses it before reading the header
	}
	next, length := binary.LittleEndian.Uint64(sig[12:]), binary.LittleEndian.Uint64(sig[20:])
	if next > uint64(size) || 32+next > uint64(size) {
		return fmt.Errorf("7z header: the header offset %d is beyond the end of the file", next)
	}
	end := 32 + int64(next) // where the packed streams end and the header starts
	left := min(length, uint64(size-end))
	h := &szReader{r: bufio.NewReader(io.NewSectionReader(ra, end, int64(left))), left: left, stats: st}
	id, err := h.byte()
	if err != nil {
		return err
	}
	switch id {
	case szHeader:
		return h.header()
	case szEncodedHeader:
		si, err := h.streamsInfo()
		if err != nil {
			return err
		}
		st.encryptedFolders = 0 // the encoded header's own folder is not content
		return checkEncodedHeader(ra, end, si, st)
	}
	return fmt.Errorf("7z header: unexpected id %d", id)
}

// checkEncodedHeader decodes the header that si describes, in the packed
// streams of ra that end at end, and walks it.
func checkEncodedHeader(ra io.ReaderAt, end int64, si *szStreamsSum, st *szStats) error {
	f := &si.first
	switch {
	case si.folders != 1:
		return fmt.Errorf("7z header: the encoded header is in %d folders", si.folders)
	case f.encrypted:
		return errSevenZipEncrypted
	case f.coders != 1 || f.in != 1 || f.out != 1:
		return fmt.Errorf("7z header: the encoded header has %d coders", f.coders)
	case !si.packSized:
		return errors.New("7z header: the encoded header has no packed size")
	case f.unpackSize == 0 || f.unpackSize > maxSevenZipHeader:
		return fmt.Errorf("7z header: the encoded header's size %d is not in [1, %d]", f.unpackSize, maxSevenZipHeader)
	}
	var packed io.Reader = eofReader{}
	if start := 32 + si.packPos; si.packPos < uint64(end) && start < uint64(end) {
		packed = bufio.NewReader(io.NewSectionReader(ra, int64(start), int64(min(si.packSize, uint64(end)-start))))
	}
	id, props := f.id[:f.idLen], f.props[:min(f.propsLen, uint64(len(f.props)))]
	var dec io.Reader
	switch {
	case bytes.Equal(id, szCopy):
		dec = packed
	case bytes.Equal(id, szLZMA):
		if f.propsLen != 5 {
			return errors.New("7z header: bad LZMA properties for the encoded header")
		}
		hdr := binary.LittleEndian.AppendUint64(bytes.Clone(props), f.unpackSize)
		if binary.LittleEndian.Uint32(hdr[1:5]) > maxCoderMemory {
			binary.LittleEndian.PutUint32(hdr[1:5], maxCoderMemory)
		}
		r, err := lzma.NewReader(io.MultiReader(bytes.NewReader(hdr), packed))
		if err != nil {
			return fmt.Errorf("7z header: decoding the encoded header: %w", err)
		}
		dec = r
	case bytes.Equal(id, szLZMA2):
		if f.propsLen != 1 || props[0] > 40 {
			return errors.New("7z header: bad LZMA2 properties for the encoded header")
		}
		dict := (2 | int64(props[0])&1) << (props[0]/2 + 11) // as Lzma2Dec.c computes it
		dict = max(min(dict, maxCoderMemory, int64(f.unpackSize)), lzma.MinDictCap)
		r, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(packed)
		if err != nil {
			return fmt.Errorf("7z header: decoding the encoded header: %w", err)
		}
		dec = r
	default:
		return fmt.Errorf("7z header: the encoded header's method %x is not supported", id)
	}
	h := &szReader{r: bufio.NewReader(io.LimitReader(dec, int64(f.unpackSize))), left: f.unpackSize, stats: st}
	id0, err := h.byte()
	if err != nil {
		return err
	}
	if id0 != szHeader {
		return fmt.Errorf("7z header: unexpected id %d in the encoded header", id0)
	}
	return h.header()
}

// eofReader is an empty reader.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// szReader reads a 7z header of left bytes from r.
type szReader struct {
	r     *bufio.Reader
	left  uint64
	stats *szStats // shared by the readers of one archive
}

// szStreamsSum sums up a StreamsInfo: what the listing cost and the decoding
// of an encoded header need.
type szStreamsSum struct {
	packPos, packSize uint64 // of the first pack stream
	packSized         bool
	unpacked          bool   // UnpackInfo was present
	folders           uint64 // of UnpackInfo
	first             szFolderSum
	sub               bool   // SubStreamsInfo was present
	substreams        uint64 // in all the folders
	cost              uint64 // steps to find the folders of the substreams' files
}

// szFolderSum sums up the first folder of an UnpackInfo.
type szFolderSum struct {
	coders, in, out uint64
	id              [15]byte
	idLen           int
	props           [8]byte
	propsLen        uint64
	encrypted       bool // one of its coders is AES
	unpackSize      uint64
}

var errSevenZipTruncated = errors.New("7z header: truncated")

func (h *szReader) byte() (byte, error) {
	if h.left == 0 {
		return 0, errSevenZipTruncated
	}
	h.left--
	b, err := h.r.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("7z header: %w", err)
	}
	return b, nil
}

// number reads a 7z NUMBER, as the library's readUint64.
func (h *szReader) number() (uint64, error) {
	b, err := h.byte()
	if err != nil {
		return 0, err
	}
	l := bits.LeadingZeros8(^b)
	var v uint64
	if l < 7 {
		v |= uint64(b&((1<<(8-l))-1)) << (8 * l)
	}
	for i := range l {
		b, err := h.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(b) << (8 * i)
	}
	return v, nil
}

// skip skips n bytes of the header.
func (h *szReader) skip(n uint64) error {
	if n > h.left {
		return fmt.Errorf("7z header: %d bytes stated where %d are left", n, h.left)
	}
	h.left -= n
	for n > 0 {
		k, err := h.r.Discard(int(min(n, 1<<30)))
		if err != nil {
			return fmt.Errorf("7z header: %w", err)
		}
		n -= uint64(k)
	}
	return nil
}

// count reads a count of what, which the library allocates for: nonzero
// unless zero is true, at most limit, at most the bits left in the header.
func (h *szReader) count(what string, limit uint64, zero bool) (uint64, error) {
	n, err := h.number()
	if err != nil {
		return 0, err
	}
	return n, h.bound(what, n, limit, zero)
}

func (h *szReader) bound(what string, n, limit uint64, zero bool) error {
	switch {
	case n == 0 && !zero:
		return fmt.Errorf("7z header: no %s", what)
	case n > limit:
		return fmt.Errorf("7z header: %d %s, more than %d", n, what, limit)
	case n > h.left*8:
		return fmt.Errorf("7z header: %d %s in %d bytes", n, what, h.left)
	}
	return nil
}

// bits reads a bit vector of n bits and returns how many are set.
func (h *szReader) bits(n uint64) (uint64, error) {
	var set uint64
	for n > 0 {
		b, err := h.byte()
		if err != nil {
			return 0, err
		}
		if n < 8 {
			b &= 0xff << (8 - n)
		}
		set += uint64(bits.OnesCount8(b))
		n -= min(n, 8)
	}
	return set, nil
}

// optionalBits reads an "all defined" byte, then a bit vector of n bits
// unless it is set, and returns how many are defined.
func (h *szReader) optionalBits(what string, n uint64) (uint64, error) {
	if err := h.bound(what, n, maxSevenZipCount, false); err != nil {
		return 0, err
	}
	all, err := h.byte()
	if err != nil {
		return 0, err
	}
	if all != 0 {
		return n, nil
	}
	return h.bits(n)
}

// digests skips the CRCs of n streams.
func (h *szReader) digests(n uint64) error {
	defined, err := h.optionalBits("CRCs", n)
	if err != nil {
		return err
	}
	return h.skip(4 * defined)
}

// external reads the "external" byte, which the library does not support.
func (h *szReader) external(what string) error {
	b, err := h.byte()
	if err == nil && b != 0 {
		err = fmt.Errorf("7z header: external %s", what)
	}
	return err
}

// values skips the n values of size bytes of a property that each file
// may have (times, attributes).
func (h *szReader) values(what string, n, size uint64) error {
	defined, err := h.optionalBits(what, n)
	if err != nil {
		return err
	}
	if err := h.external(what); err != nil {
		return err
	}
	return h.skip(size * defined)
}

// expect reads the id that ends a structure.
func (h *szReader) expect(id byte, what string) error {
	b, err := h.byte()
	if err == nil && b != id {
		err = fmt.Errorf("7z header: unexpected id %d in %s", b, what)
	}
	return err
}

// header walks a Header after its id, as the library's readHeader.
func (h *szReader) header() error {
	id, err := h.byte()
	if err != nil {
		return err
	}
	switch id {
	case szArchiveProperties:
		return errors.New("7z header: archive properties are not supported")
	case szAdditionalStreamsInfo:
		return errors.New("7z header: additional streams are not supported")
	}
	var si *szStreamsSum
	if id == szMainStreamsInfo {
		if si, err = h.streamsInfo(); err != nil {
			return err
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	}
	if id == szFilesInfo {
		withStreams, err := h.filesInfo()
		if err != nil {
			return err
		}
		if si != nil && si.sub {
			if err := si.listing(withStreams); err != nil {
				return err
			}
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	}
	if id != szEnd {
		return fmt.Errorf("7z header: unexpected id %d in the header", id)
	}
	return nil
}

// listing checks the steps the library takes to find the folders of the
// files with streams: for each, a loop over the folders up to its own.
func (si *szStreamsSum) listing(files uint64) error {
	cost := si.cost
	if files > si.substreams {
		cost += (files - si.substreams) * si.folders
	}
	if cost > maxSevenZipListing {
		return fmt.Errorf("7z header: %d files in %d folders would take too long to list", files, si.folders)
	}
	return nil
}

// streamsInfo walks a StreamsInfo after its id, as readStreamsInfo.
func (h *szReader) streamsInfo() (*szStreamsSum, error) {
	si := new(szStreamsSum)
	id, err := h.byte()
	if err != nil {
		return nil, err
	}
	if id == szPackInfo {
		if err := h.packInfo(si); err != nil {
			return nil, err
		}
		if id, err = h.byte(); err != nil {
			return nil, err
		}
	}
	if id == szUnpackInfo {
		if err := h.unpackInfo(si); err != nil {
			return nil, err
		}
		if id, err = h.byte(); err != nil {
			return nil, err
		}
	}
	if id == szSubStreamsInfo {
		if !si.unpacked {
			return nil, errors.New("7z header: substreams without folders")
		}
		if err := h.subStreamsInfo(si); err != nil {
			return nil, err
		}
		if id, err = h.byte(); err != nil {
			return nil, err
		}
	}
	if id != szEnd {
		return nil, fmt.Errorf("7z header: unexpected id %d in streams info", id)
	}
	return si, nil
}

// packInfo walks a PackInfo, as readPackInfo.
func (h *szReader) packInfo(si *szStreamsSum) error {
	var err error
	if si.packPos, err = h.number(); err != nil {
		return err
	}
	streams, err := h.count("pack streams", maxSevenZipCount, false)
	if err != nil {
		return err
	}
	id, err := h.byte()
	if err != nil {
		return err
	}
	if id == szSize {
		for i := range streams {
			n, err := h.number()
			if err != nil {
				return err
			}
			if i == 0 {
				si.packSize, si.packSized = n, true
			}
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	}
	if id == szCRC {
		if err := h.digests(streams); err != nil {
			return err
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	}
	if id != szEnd {
		return fmt.Errorf("7z header: unexpected id %d in pack info", id)
	}
	return nil
}

// unpackInfo walks an UnpackInfo, as readUnpackInfo.
func (h *szReader) unpackInfo(si *szStreamsSum) error {
	if err := h.expect(szFolder, "unpack info"); err != nil {
		return err
	}
	folders, err := h.count("folders", maxSevenZipCount, false)
	if err != nil {
		return err
	}
	if err := h.external("folders"); err != nil {
		return err
	}
	si.unpacked, si.folders = true, folders
	var sizes uint64 // unpack sizes, one per out stream of each folder
	var other szFolderSum
	for i := range folders {
		f := &si.first
		if i > 0 {
			f, other = &other, szFolderSum{}
		}
		if err := h.folder(f); err != nil {
			return err
		}
		sizes += f.out
	}
	if err := h.expect(szCodersUnpackSize, "unpack info"); err != nil {
		return err
	}
	for i := range sizes {
		n, err := h.number()
		if err != nil {
			return err
		}
		if i == 0 {
			si.first.unpackSize = n
		}
	}
	id, err := h.byte()
	if err != nil {
		return err
	}
	if id == szCRC {
		if err := h.digests(folders); err != nil {
			return err
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	}
	if id != szEnd {
		return fmt.Errorf("7z header: unexpected id %d in unpack info", id)
	}
	return nil
}

// folder walks a Folder, as readFolder, into f.
func (h *szReader) folder(f *szFolderSum) error {
	coders, err := h.count("coders", maxSevenZipStreams, false)
	if err != nil {
		return err
	}
	f.coders = coders
	for i := range coders {
		v, err := h.byte()
		if err != nil {
			return err
		}
		var id [15]byte
		n := int(v & 0xf)
		for j := range n {
			if id[j], err = h.byte(); err != nil {
				return err
			}
		}
		if bytes.HasPrefix(id[:n], szAES[:3]) && !f.encrypted {
			f.encrypted = true
			if h.stats != nil {
				h.stats.encryptedFolders++
			}
		}
		if i == 0 {
			f.id, f.idLen = id, n
		}
		in, out := uint64(1), uint64(1)
		if v&0x10 != 0 {
			if in, err = h.count("coder in streams", maxSevenZipStreams, false); err != nil {
				return err
			}
			if out, err = h.count("coder out streams", maxSevenZipStreams, false); err != nil {
				return err
			}
		}
		f.in += in
		f.out += out
		if v&0x20 != 0 {
			size, err := h.number()
			if err != nil {
				return err
			}
			if size == 0 || size > h.left {
				return fmt.Errorf("7z header: coder properties of %d bytes where %d are left", size, h.left)
			}
			if i == 0 {
				f.propsLen = size
				for j := range min(size, uint64(len(f.props))) {
					if f.props[j], err = h.byte(); err != nil {
						return err
					}
				}
				size -= min(size, uint64(len(f.props)))
			}
			if err := h.skip(size); err != nil {
				return err
			}
		}
	}
	if f.in > maxSevenZipStreams || f.out > maxSevenZipStreams || f.in < f.out {
		return fmt.Errorf("7z header: a folder of %d in and %d out streams", f.in, f.out)
	}
	bindPairs := f.out - 1
	for range 2 * bindPairs {
		n, err := h.number()
		if err != nil {
			return err
		}
		if n > math.MaxUint32 {
			return fmt.Errorf("7z header: bind pair stream %d", n)
		}
	}
	if packed := f.in - bindPairs; packed != 1 {
		for range packed {
			if _, err := h.number(); err != nil {
				return err
			}
		}
	}
	return nil
}

// subStreamsInfo walks a SubStreamsInfo, as readSubStreamsInfo, and sums
// up the cost of finding the folder of each substream.
func (h *szReader) subStreamsInfo(si *szStreamsSum) error {
	si.sub = true
	id, err := h.byte()
	if err != nil {
		return err
	}
	var sizes uint64 // stated sizes: all but the last of each folder
	if id == szNumUnpackStream {
		for i := range si.folders {
			n, err := h.count("substreams", maxSevenZipCount, true)
			if err != nil {
				return err
			}
			si.substreams += n
			si.cost += n * (i + 1)
			if n > 0 {
				sizes += n - 1
			}
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	} else {
		si.substreams = si.folders
		si.cost = si.folders * (si.folders + 1) / 2
	}
	if si.substreams > maxSevenZipCount {
		return fmt.Errorf("7z header: %d substreams, more than %d", si.substreams, maxSevenZipCount)
	}
	if id == szSize {
		for range sizes {
			if _, err := h.number(); err != nil {
				return err
			}
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	}
	if id == szCRC {
		if err := h.digests(si.substreams); err != nil {
			return err
		}
		if id, err = h.byte(); err != nil {
			return err
		}
	}
	if id != szEnd {
		return fmt.Errorf("7z header: unexpected id %d in substreams info", id)
	}
	return nil
}

// filesInfo walks a FilesInfo, as readFilesInfo, and returns how many
// files have a stream.
func (h *szReader) filesInfo() (uint64, error) {
	files, err := h.count("files", maxSevenZipCount, false)
	if err != nil {
		return 0, err
	}
	var emptyStreams, empty uint64
	for {
		property, err := h.byte()
		if err != nil {
			return 0, err
		}
		if property == szEnd {
			return files - empty, nil
		}
		length, err := h.number()
		if err != nil {
			return 0, err
		}
		// The library reads most properties from the file count, not
		// from their length.
		switch property {
		case szEmptyStream:
			if empty, err = h.bits(files); err != nil {
				return 0, err
			}
			emptyStreams += empty
		case szEmptyFile:
			if err := h.bound("empty streams", emptyStreams, maxSevenZipCount, false); err != nil {
				return 0, err
			}
			if _, err := h.bits(emptyStreams); err != nil {
				return 0, err
			}
		case szCTime, szATime, szMTime:
			if err := h.values("times", files, 8); err != nil {
				return 0, err
			}
		case szName:
			if length == 0 {
				return 0, errors.New("7z header: empty names")
			}
			if err := h.external("names"); err != nil {
				return 0, err
			}
			if err := h.skip(length - 1); err != nil {
				return 0, err
			}
		case szWinAttributes:
			if err := h.values("attributes", files, 4); err != nil {
				return 0, err
			}
		case szDummy:
			if err := h.skip(length); err != nil {
				return 0, err
			}
		default: // StartPos, Anti, Comment: the library refuses them
			return 0, fmt.Errorf("7z header: unsupported file property %d", property)
		}
	}
}
