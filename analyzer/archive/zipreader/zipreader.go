// Package zipreader reads zip archives the way model loaders read them, and
// reports every place where the loaders could disagree.
//
// PyTorch reads its checkpoints with miniz, NumPy reads .npz files with
// Python's zipfile, and streaming readers walk the local file headers from
// the start of the file. These readers trust different fields: the central
// directory or the local headers, the end record or its ZIP64 twin, the
// stated central directory offset or one inferred from the end record's
// position, the general purpose flags or the data itself. An attacker who
// tampers with one of those fields can hide a member from a scanner that reads
// the archive one way while a loader reads it another way.
//
// Open therefore reads both views, the central directory (every central
// directory that some reader could find) and a linear walk of the local file
// headers from offset 0, and merges them into one list of entries. Each
// disagreement is recorded as an Anomaly rather than an error: an archive
// whose central directory is missing still yields the entries its local
// headers describe. Open fails only when neither view yields anything.
//
// Nothing read from the archive is trusted for allocation: declared sizes only
// bound reads, and every read stays inside [0, size).
package zipreader

import (
	"errors"
	"io"
	"time"
)

// DefaultMaxEntries is the entry limit used when Options.MaxEntries is 0.
const DefaultMaxEntries = 100_000

// DefaultMaxCommentSearch is how many bytes at the end of the archive are
// searched for the end of central directory record when
// Options.MaxCommentSearch is 0: the record itself and the longest comment.
const DefaultMaxCommentSearch = lenEOCD + 0xffff

// Errors returned by Open, Archive.Open and reads of an entry. They are
// wrapped with details; test them with errors.Is.
var (
	// ErrFormat means that the input is not a zip archive: neither the
	// central directory nor the local file headers yield an entry.
	ErrFormat = errors.New("zipreader: not a zip archive")
	// ErrEncrypted means that the entry's data really is encrypted.
	ErrEncrypted = errors.New("zipreader: entry is encrypted")
	// ErrUnsupportedMethod means that the entry's compression method cannot
	// be decompressed by this package.
	ErrUnsupportedMethod = errors.New("zipreader: unsupported compression method")
	// ErrNoLocalHeader means that the entry has no valid local file header,
	// so that its data cannot be located (loaders fail on it as well).
	ErrNoLocalHeader = errors.New("zipreader: entry has no local file header")
)

// Compression methods this package knows by name.
const (
	// Store is the method of uncompressed entries.
	Store uint16 = 0
	// Deflate is the method of deflate-compressed entries.
	Deflate uint16 = 8
	// Deflate64 is the method of Deflate64 entries (not supported).
	Deflate64 uint16 = 9
	// BZIP2 is the method of bzip2-compressed entries.
	BZIP2 uint16 = 12
	// LZMA is the method of LZMA-compressed entries.
	LZMA uint16 = 14
	// Zstd is the method of Zstandard-compressed entries.
	Zstd uint16 = 93
	// XZ is the method of xz-compressed entries (not supported).
	XZ uint16 = 95
	// AES is the method of WinZip AES-encrypted entries (not supported).
	AES uint16 = 99
)

// General purpose flag bits that matter to readers.
const (
	// FlagEncrypted (bit 0) marks traditional or strong encryption.
	FlagEncrypted uint16 = 1 << 0
	// FlagDataDescriptor (bit 3) means that the CRC and sizes follow the data.
	FlagDataDescriptor uint16 = 1 << 3
	// FlagPatched (bit 5) marks compressed patched data.
	FlagPatched uint16 = 1 << 5
	// FlagStrongEncryption (bit 6) marks PKWARE strong encryption.
	FlagStrongEncryption uint16 = 1 << 6
	// FlagUTF8 (bit 11) means that the name and comment are UTF-8.
	FlagUTF8 uint16 = 1 << 11
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// MaxEntries bounds the number of entries returned (and of local headers
	// walked). An archive with more sets Archive.Truncated; it is not an
	// error. 0 means DefaultMaxEntries.
	MaxEntries int
	// MaxCommentSearch is how many bytes at the end of the archive are
	// searched for the end of central directory record. 0 means
	// DefaultMaxCommentSearch, which is also what Python's zipfile searches.
	MaxCommentSearch int
	// OnAnomaly, when not nil, is called with each anomaly found while an
	// entry is read (a CRC mismatch, a decompressed size that differs from
	// the declared one, bytes after the end of a compressed stream). It is
	// called from the goroutine that reads the entry. Anomalies found by Open
	// are in Archive.Anomalies and are not passed to OnAnomaly.
	OnAnomaly func(Anomaly)
}

// Archive is an opened zip archive. It does not change after Open returns,
// so that its entries may be read concurrently (when the io.ReaderAt given to
// Open allows concurrent reads, as *os.File does).
type Archive struct {
	// Entries lists the entries in the order of the central directory,
	// followed by the entries found only by the walk of the local headers,
	// in file order.
	Entries []*Entry
	// Anomalies lists what Open found suspicious, in no particular order
	// across kinds.
	Anomalies []Anomaly
	// Truncated is true when the archive holds more than Options.MaxEntries
	// entries (or local headers): Entries then holds the first ones only.
	Truncated bool
	// Comment is the archive comment of the end of central directory record.
	Comment string
	// Size is the size given to Open.
	Size int64

	src  source
	opts Options
}

// Entry is one member of the archive, merged from its central directory
// record and its local file header.
type Entry struct {
	// Name is the name in the central directory, or the local header's name
	// for an entry found only by the walk of the local headers. It is the
	// raw bytes of the name; loaders look members up by this name.
	Name string
	// LocalName is the name in the local file header ("" when there is
	// none). For a local header that the walk did not reach, it is cut one
	// byte after the length of Name (a name mismatch is reported with the
	// full length): a central directory pointing into long local names
	// must not make Open read them all.
	LocalName string
	// Comment is the entry comment of the central directory.
	Comment string
	// Method is the compression method of the central directory (of the
	// local header for a local-only entry); loaders decompress with it.
	Method uint16
	// LocalMethod is the compression method of the local file header.
	LocalMethod uint16
	// Flags are the general purpose flags of the central directory (of the
	// local header for a local-only entry).
	Flags uint16
	// LocalFlags are the general purpose flags of the local file header.
	LocalFlags uint16
	// CRC32 is the CRC-32 the data should have: the central directory's, or
	// for a local-only entry the local header's or its data descriptor's.
	CRC32 uint32
	// CompressedSize is the number of bytes of data: the central
	// directory's, or for a local-only entry the local header's, its data
	// descriptor's, or the length found by scanning for the next header.
	CompressedSize int64
	// UncompressedSize is the declared uncompressed size, or -1 when no
	// header declares it (a local-only entry without sizes or descriptor).
	UncompressedSize int64
	// HeaderOffset is the offset of the local file header in the input.
	HeaderOffset int64
	// DataOffset is the offset of the data (after the local file header,
	// its name and extra field), or -1 when there is no local header.
	DataOffset int64
	// InCentral is true when a central directory lists the entry.
	InCentral bool
	// InLocal is true when a valid local file header is at HeaderOffset.
	InLocal bool
	// Encrypted is true when the encryption flag is set and the data really
	// is encrypted; Archive.Open then returns ErrEncrypted. When the flag is
	// set on plain data, Encrypted is false (PyTorch ignores the flag and
	// reads the data) and an anomaly is recorded.
	Encrypted bool
	// Modified is the MS-DOS modification time of the header (UTC), or the
	// zero time when the header holds zero.
	Modified time.Time
	// Symlink is true when the central directory marks the entry as a Unix
	// symbolic link (made by Unix, S_IFLNK in the external attributes): its
	// data is the link's target, which unzip and Unix extractors create.
	Symlink bool

	crcKnown  bool  // CRC32 comes from a header or descriptor
	extentEnd int64 // end of data and data descriptor as walked, for gaps
}

// Anomaly is something in the archive that readers may disagree on or that
// hides data.
type Anomaly struct {
	// Entry is the name of the entry concerned, or "" for the archive.
	Entry string
	// Kind is one of the Kind constants.
	Kind string
	// Detail says what was found, with offsets and values.
	Detail string
	// Offset is the byte offset in the archive the anomaly is about, or -1.
	Offset int64
}

// Kinds of anomaly.
const (
	// KindNameMismatch: the local header's name differs from the central
	// directory's (Python's zipfile refuses the entry; miniz uses the
	// central name).
	KindNameMismatch = "name-mismatch"
	// KindFlagsMismatch: the general purpose flags differ between the local
	// header and the central directory.
	KindFlagsMismatch = "flags-mismatch"
	// KindMethodMismatch: the compression methods differ between the local
	// header and the central directory.
	KindMethodMismatch = "method-mismatch"
	// KindSizeMismatch: sizes differ between the local header, the data
	// descriptor and the central directory, or the data decompresses to
	// another size than declared, or a stored entry's two sizes differ.
	KindSizeMismatch = "size-mismatch"
	// KindCRCMismatch: the CRC-32 differs between the local header, the data
	// descriptor and the central directory.
	KindCRCMismatch = "crc-mismatch"
	// KindBadCRC: the data read does not match the declared CRC-32 (loaders
	// such as PyTorch read it anyway).
	KindBadCRC = "bad-crc"
	// KindLocalOnly: a local file header that no central directory lists:
	// hidden from loaders that read the central directory, seen by
	// streaming readers.
	KindLocalOnly = "local-only"
	// KindCentralOnly: a central directory entry without a valid local file
	// header at its offset.
	KindCentralOnly = "central-only"
	// KindOverlap: entries share bytes with each other or with the central
	// directory.
	KindOverlap = "overlap"
	// KindBeyondEnd: an entry's data extends beyond the end of the input.
	KindBeyondEnd = "data-beyond-end"
	// KindDuplicateName: several entries have the same name, or names that
	// loaders consider equal (miniz compares case-insensitively, Python's
	// zipfile cuts names at the first NUL byte).
	KindDuplicateName = "duplicate-name"
	// KindSuspiciousName: a name with a NUL byte, a backslash, an absolute
	// path, a ".." component, or no name at all.
	KindSuspiciousName = "suspicious-name"
	// KindEncryptedFlagOnPlain: the encryption flag is set but the data is
	// plain: PyTorch ignores the flag and loads it, Python's zipfile asks for
	// a password.
	KindEncryptedFlagOnPlain = "encrypted-flag-on-plain-data"
	// KindUnusualFlags: flag bit 5 (patched data) or 6 (strong encryption)
	// is set: Python's zipfile refuses the entry, PyTorch reads it.
	KindUnusualFlags = "unusual-flags"
	// KindUnsupportedMethod: a compression method this package cannot
	// decompress.
	KindUnsupportedMethod = "unsupported-method"
	// KindZip64: ZIP64 records or extra fields that are missing, malformed
	// or disagree with the 32-bit fields.
	KindZip64 = "zip64-inconsistent"
	// KindNoCentralDirectory: no end of central directory record was found;
	// the entries come from the local headers only.
	KindNoCentralDirectory = "no-central-directory"
	// KindBadCentralDirectory: the central directory is missing, corrupt,
	// disagrees with its end record, or there are several central
	// directories that different readers would use.
	KindBadCentralDirectory = "bad-central-directory"
	// KindComment: the archive has a comment, or the comment length does
	// not match the bytes that follow the end record.
	KindComment = "archive-comment"
	// KindPrependedData: bytes before the first local header (a
	// self-extracting archive or a polyglot file), or offsets relative to a
	// prefix, which Python's zipfile adjusts and miniz does not.
	KindPrependedData = "prepended-data"
	// KindTrailingData: bytes after the end of central directory record and
	// its comment.
	KindTrailingData = "trailing-data"
	// KindGap: bytes between entries, or between the last entry and the
	// central directory, that belong to no entry.
	KindGap = "gap"
	// KindTrailingCompressed: bytes of an entry's data after the end of its
	// compressed stream.
	KindTrailingCompressed = "data-after-compressed-stream"
	// KindTooManyEntries: the archive holds more entries than MaxEntries.
	KindTooManyEntries = "too-many-entries"
)

// Open reads the structure of the zip archive of size bytes that r holds. It
// returns an error wrapping ErrFormat only when neither the central directory
// nor the local headers yield an entry; everything else suspicious is an
// Anomaly of the returned Archive.
func Open(r io.ReaderAt, size int64, opts Options) (*Archive, error) {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxCommentSearch <= 0 {
		opts.MaxCommentSearch = DefaultMaxCommentSearch
	}
	if size < 0 {
		size = 0
	}
	o := newOpener(source{r: r, size: size}, opts)
	return o.open()
}

// ReaderAt returns a reader of the data of a stored, unencrypted entry,
// directly over the archive, so that a caller may read any part of it
// without reading the rest. ok is false for other entries, which must be
// read with Open. The reader ends at the end of the input when the data
// extends beyond it; its Size is the number of bytes it can read, which is
// what a caller should use when the entry's declared size is unknown.
func (a *Archive) ReaderAt(e *Entry) (r *io.SectionReader, ok bool) {
	if e == nil || e.Method != Store || e.Encrypted || !e.InLocal || e.DataOffset < 0 {
		return nil, false
	}
	_, avail := a.dataSpan(e)
	return io.NewSectionReader(a.src, e.DataOffset, avail), true
}

// RawReader returns a reader of the entry's data as stored in the archive,
// compressed and possibly encrypted, limited to the input. It lets a caller
// look at the bytes of an entry that Open refuses (an encrypted entry or an
// unsupported method).
func (a *Archive) RawReader(e *Entry) (*io.SectionReader, bool) {
	if e == nil || !e.InLocal || e.DataOffset < 0 {
		return nil, false
	}
	n := min(max(e.CompressedSize, 0), a.Size-e.DataOffset)
	return io.NewSectionReader(a.src, e.DataOffset, max(n, 0)), true
}

// isSymlink reports whether a central directory record made by Unix marks
// its entry as a symbolic link: the file type bits of the mode in the high
// 16 bits of the external attributes are S_IFLNK.
func isSymlink(madeBy uint16, external uint32) bool {
	const unix, typeBits, symlink = 3, 0o170000, 0o120000
	return madeBy>>8 == unix && (external>>16)&typeBits == symlink
}
