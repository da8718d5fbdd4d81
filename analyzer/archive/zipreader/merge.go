package zipreader

import (
	"fmt"
	"slices"
	"strings"
)

// merge builds the entries from the central directories and the walk.
func (o *opener) merge() {
	max := o.opts.MaxEntries
	type key struct {
		name string
		off  int64
	}
	// A record that an earlier central directory already lists is the
	// same entry; duplicates within one directory are entries of their own.
	seen := map[key]bool{}
	for vi, v := range o.views {
		for i := range v.recs {
			r := &v.recs[i]
			k := key{r.name, r.offset}
			if vi > 0 && seen[k] {
				continue
			}
			if vi == 0 || len(o.views) > 1 {
				seen[k] = true
			}
			if len(o.a.Entries) >= max {
				o.a.Truncated = true
				break
			}
			o.a.Entries = append(o.a.Entries, o.fromCentral(r))
		}
	}
	hasCD := len(o.views) > 0
	for _, w := range o.walked {
		if w.claimed {
			continue
		}
		if len(o.a.Entries) >= max {
			o.a.Truncated = true
			break
		}
		e := o.fromLocal(w)
		o.a.Entries = append(o.a.Entries, e)
		if hasCD {
			o.anomaly(e.Name, KindLocalOnly, e.HeaderOffset,
				"local file header at offset %d is in no central directory: loaders that read the central directory (PyTorch, NumPy, Python's zipfile) do not see it, streaming readers do", e.HeaderOffset)
		}
	}
	if o.walkCapped {
		o.a.Truncated = true
	}
	if o.a.Truncated {
		o.anomaly("", KindTooManyEntries, -1, "the archive holds more than %d entries or local headers; only the first ones are listed", max)
	}
}

// fromCentral builds the entry of a central directory record, merged with
// its local header.
func (o *opener) fromCentral(r *centralRecord) *Entry {
	e := &Entry{
		Name:             r.name,
		Comment:          r.comment,
		Method:           r.method,
		Flags:            r.flags,
		CRC32:            r.crc,
		CompressedSize:   r.csize,
		UncompressedSize: r.usize,
		HeaderOffset:     r.offset,
		DataOffset:       -1,
		InCentral:        true,
		Symlink:          isSymlink(r.madeBy, r.external),
		Modified:         dosTime(r.modDate, r.modTime),
		crcKnown:         true,
	}
	if r.zip64Problem != "" {
		o.anomaly(e.Name, KindZip64, r.pos, "%s", r.zip64Problem)
	}
	w := o.walkedAt[r.offset]
	var lh *localHeader
	if w != nil {
		w.claimed = true
		lh = w.lh
	} else if r.offset >= 0 {
		lh = o.localFor(r)
	}
	if lh == nil {
		why := "no local file header at offset %d"
		if r.offset >= o.src.size {
			why = "local header offset %d is beyond the end of the input"
		}
		o.anomaly(e.Name, KindCentralOnly, r.offset, why+": loaders cannot read this entry", r.offset)
		return e
	}
	e.InLocal = true
	e.LocalName, e.LocalFlags, e.LocalMethod = lh.name, lh.flags, lh.method
	e.DataOffset = lh.dataOff
	if lh.zip64Problem != "" {
		o.anomaly(e.Name, KindZip64, lh.off, "%s", lh.zip64Problem)
	}
	if lh.name != r.name || lh.nameLen != len(r.name) {
		cut := ""
		if len(lh.name) < lh.nameLen {
			cut = fmt.Sprintf(" (first %d of %d bytes)", len(lh.name), lh.nameLen)
		}
		o.anomaly(e.Name, KindNameMismatch, lh.off, "local header names %q%s, central directory names %q: Python's zipfile refuses the entry, miniz (PyTorch) reads it by its central name", lh.name, cut, r.name)
	}
	if lh.flags != r.flags {
		o.anomaly(e.Name, KindFlagsMismatch, lh.off, "local header flags %#04x, central directory flags %#04x", lh.flags, r.flags)
	}
	if lh.method != r.method {
		o.anomaly(e.Name, KindMethodMismatch, lh.off, "local header method %d, central directory method %d (loaders use the central one)", lh.method, r.method)
	}
	if lh.flags&FlagDataDescriptor == 0 || lh.crc != 0 || lh.csize != 0 || lh.usize != 0 {
		o.compareSizes(e, lh.off, "local header", lh.crc, lh.csize, lh.usize)
	}
	var d *descriptor
	end := addOff(e.DataOffset, e.CompressedSize)
	e.extentEnd = end
	if w != nil && w.dataLen == e.CompressedSize {
		d = w.desc
		e.extentEnd = w.end
	} else {
		if lh.flags&FlagDataDescriptor != 0 || r.flags&FlagDataDescriptor != 0 {
			if desc, ok := o.c.descriptorAt(end, e.CompressedSize, lh.zip64, true); ok {
				d = &desc
				e.extentEnd = end + desc.length
			}
		}
	}
	if d != nil {
		o.compareSizes(e, lh.dataOff, "data descriptor", d.crc, d.csize, d.usize)
	}
	return e
}

// localFor reads the local header a central record points to and the walk
// did not reach. It reads no more of the local name than the central name
// holds (plus one byte), so that records pointing into each other's long
// names cost what their central records cost.
func (o *opener) localFor(r *centralRecord) *localHeader {
	if lh, ok := o.localAt[r.offset]; ok {
		return lh
	}
	lh, _ := o.c.readLocal(r.offset, len(r.name)+1)
	o.localAt[r.offset] = lh
	return lh
}

func (o *opener) compareSizes(e *Entry, off int64, what string, crc uint32, csize, usize int64) {
	if crc != e.CRC32 {
		o.anomaly(e.Name, KindCRCMismatch, off, "%s CRC-32 %08x, central directory %08x", what, crc, e.CRC32)
	}
	if csize != e.CompressedSize || usize != e.UncompressedSize {
		o.anomaly(e.Name, KindSizeMismatch, off, "%s sizes %d/%d (compressed/uncompressed), central directory %d/%d: loaders read the central sizes, streaming readers the local ones",
			what, csize, usize, e.CompressedSize, e.UncompressedSize)
	}
}

// fromLocal builds the entry of a local header that no central directory
// lists.
func (o *opener) fromLocal(w *walkEntry) *Entry {
	lh := w.lh
	e := &Entry{
		Name:             lh.name,
		LocalName:        lh.name,
		Method:           lh.method,
		LocalMethod:      lh.method,
		Flags:            lh.flags,
		LocalFlags:       lh.flags,
		CRC32:            lh.crc,
		CompressedSize:   w.dataLen,
		UncompressedSize: lh.usize,
		HeaderOffset:     lh.off,
		DataOffset:       lh.dataOff,
		InLocal:          true,
		Modified:         dosTime(lh.modDate, lh.modTime),
		crcKnown:         true,
		extentEnd:        w.end,
	}
	if lh.zip64Problem != "" {
		o.anomaly(e.Name, KindZip64, lh.off, "%s", lh.zip64Problem)
	}
	dd := lh.flags&FlagDataDescriptor != 0
	switch {
	case w.desc != nil:
		e.CRC32, e.UncompressedSize = w.desc.crc, w.desc.usize
		if !dd || lh.crc != 0 || lh.csize != 0 || lh.usize != 0 {
			if lh.crc != w.desc.crc {
				o.anomaly(e.Name, KindCRCMismatch, lh.off, "local header CRC-32 %08x, data descriptor %08x", lh.crc, w.desc.crc)
			}
			if lh.csize != w.desc.csize || lh.usize != w.desc.usize {
				o.anomaly(e.Name, KindSizeMismatch, lh.off, "local header sizes %d/%d, data descriptor %d/%d", lh.csize, lh.usize, w.desc.csize, w.desc.usize)
			}
		}
	case dd && lh.crc == 0 && lh.csize == 0 && lh.usize == 0:
		e.crcKnown = false
		e.UncompressedSize = -1
	default:
		if lh.csize != w.dataLen {
			o.anomaly(e.Name, KindSizeMismatch, lh.off, "local header declares %d bytes of data, the next header is after %d", lh.csize, w.dataLen)
		}
	}
	return e
}

// check looks at each entry and at the layout of the whole archive.
func (o *opener) check() {
	for _, e := range o.a.Entries {
		o.checkEntry(e)
	}
	o.checkNames()
	o.checkOverlaps()
	if !o.a.Truncated {
		o.checkGaps()
	}
}

func (o *opener) checkEntry(e *Entry) {
	flags := e.Flags | e.LocalFlags
	if e.InLocal {
		if e.CompressedSize > o.src.size-e.DataOffset {
			o.anomaly(e.Name, KindBeyondEnd, e.DataOffset, "%d bytes of data at offset %d extend beyond the end of the input (%d bytes)", e.CompressedSize, e.DataOffset, o.src.size)
		}
		if e.Method == Store && e.UncompressedSize >= 0 && e.CompressedSize != e.UncompressedSize &&
			!(flags&FlagEncrypted != 0 && e.CompressedSize == e.UncompressedSize+12) {
			o.anomaly(e.Name, KindSizeMismatch, e.DataOffset, "stored entry with compressed size %d and uncompressed size %d: miniz (PyTorch) reads %d bytes, Python's zipfile %d",
				e.CompressedSize, e.UncompressedSize, e.UncompressedSize, min(e.CompressedSize, e.UncompressedSize))
		}
	}
	if !methodSupported(e.Method) {
		o.anomaly(e.Name, KindUnsupportedMethod, e.HeaderOffset, "compression method %d (%s) cannot be decompressed", e.Method, methodName(e.Method))
	}
	if f := flags & (FlagPatched | FlagStrongEncryption); f != 0 {
		o.anomaly(e.Name, KindUnusualFlags, e.HeaderOffset, "flags %#04x set (%s): Python's zipfile refuses the entry, PyTorch reads it", f, flagNames(f))
	}
	if flags&FlagEncrypted != 0 && e.InLocal {
		if o.looksPlain(e) {
			o.anomaly(e.Name, KindEncryptedFlagOnPlain, e.HeaderOffset, "the encryption flag is set but the data is plain: PyTorch ignores the flag and loads it, Python's zipfile asks for a password")
		} else {
			e.Encrypted = true
		}
	}
}

func flagNames(f uint16) string {
	var s []string
	if f&FlagPatched != 0 {
		s = append(s, "compressed patched data")
	}
	if f&FlagStrongEncryption != 0 {
		s = append(s, "strong encryption")
	}
	return strings.Join(s, ", ")
}

func methodName(m uint16) string {
	switch m {
	case Store:
		return "store"
	case Deflate:
		return "deflate"
	case Deflate64:
		return "deflate64"
	case BZIP2:
		return "bzip2"
	case LZMA:
		return "lzma"
	case Zstd:
		return "zstd"
	case XZ:
		return "xz"
	case AES:
		return "AES encryption"
	}
	return "unknown"
}

// checkNames reports suspicious and duplicate names.
func (o *opener) checkNames() {
	exact := map[string]int{}
	type group struct {
		distinct int
		examples []string
	}
	folded := map[string]*group{}
	for _, e := range o.a.Entries {
		if why := suspiciousName(e.Name); why != "" {
			o.anomaly(e.Name, KindSuspiciousName, e.HeaderOffset, "name %q %s", e.Name, why)
		}
		exact[e.Name]++
		if exact[e.Name] > 1 {
			continue
		}
		k := foldName(e.Name)
		g := folded[k]
		if g == nil {
			g = &group{}
			folded[k] = g
		}
		g.distinct++
		if len(g.examples) < 4 {
			g.examples = append(g.examples, e.Name)
		}
	}
	reported := map[string]bool{}
	reportedFold := map[string]bool{}
	for _, e := range o.a.Entries {
		if n := exact[e.Name]; n > 1 && !reported[e.Name] {
			reported[e.Name] = true
			o.anomaly(e.Name, KindDuplicateName, -1, "%d entries are named %q: loaders pick one of them", n, e.Name)
		}
		k := foldName(e.Name)
		if g := folded[k]; g.distinct > 1 && !reportedFold[k] {
			reportedFold[k] = true
			more := ""
			if g.distinct > len(g.examples) {
				more = fmt.Sprintf(" (and %d more)", g.distinct-len(g.examples))
			}
			o.anomaly(e.Name, KindDuplicateName, -1, "names %s%s are the same name to miniz (PyTorch, case-insensitive) or Python's zipfile (cut at the first NUL byte)", quoteAll(g.examples), more)
		}
	}
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, n := range s {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// foldName is the name as miniz (ASCII case-insensitive) and Python's
// zipfile (cut at NUL) compare it.
func foldName(n string) string {
	if i := strings.IndexByte(n, 0); i >= 0 {
		n = n[:i]
	}
	b := []byte(n)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func suspiciousName(n string) string {
	switch {
	case n == "":
		return "is empty"
	case strings.IndexByte(n, 0) >= 0:
		return "holds a NUL byte: Python's zipfile cuts the name there"
	case strings.IndexByte(n, '\\') >= 0:
		return "holds a backslash"
	case n[0] == '/':
		return "is an absolute path"
	case len(n) >= 2 && n[1] == ':' && ('a' <= n[0]|0x20 && n[0]|0x20 <= 'z'):
		return "starts with a drive letter"
	}
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "has a \"..\" component"
		}
	}
	return ""
}

// checkOverlaps reports entries whose bytes (as loaders read them) overlap
// each other or a central directory.
func (o *opener) checkOverlaps() {
	type ext struct {
		e          *Entry
		start, end int64
	}
	var xs []ext
	for _, e := range o.a.Entries {
		if e.InLocal {
			xs = append(xs, ext{e, e.HeaderOffset, max(addOff(e.DataOffset, e.CompressedSize), e.DataOffset)})
		}
	}
	slices.SortStableFunc(xs, func(a, b ext) int {
		if c := cmpInt(a.start, b.start); c != 0 {
			return c
		}
		return cmpInt(a.end, b.end)
	})
	var far *ext
	for i := range xs {
		x := &xs[i]
		if far != nil && x.start < far.end {
			if x.start == far.start {
				o.anomaly(x.e.Name, KindOverlap, x.start, "shares its local header at offset %d with entry %q", x.start, far.e.Name)
			} else {
				o.anomaly(x.e.Name, KindOverlap, x.start, "local header at offset %d is inside entry %q (bytes %d to %d)", x.start, far.e.Name, far.start, far.end)
			}
		}
		if far == nil || x.end > far.end {
			far = x
		}
		for _, s := range o.cdSpans {
			if x.start < s.end && x.end > s.start {
				o.anomaly(x.e.Name, KindOverlap, x.start, "bytes %d to %d overlap the central directory at %d to %d", x.start, x.end, s.start, s.end)
			}
		}
	}
}

// checkGaps reports bytes that belong to no entry and no record.
func (o *opener) checkGaps() {
	size := o.src.size
	spans := slices.Clone(o.records)
	spans = append(spans, o.cdSpans...)
	for _, e := range o.a.Entries {
		if e.InLocal {
			spans = append(spans, span{e.HeaderOffset, min(max(e.extentEnd, e.DataOffset), size)})
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmpInt(a.start, b.start) })
	cursor := int64(0)
	first := true
	for _, s := range spans {
		if s.start > cursor {
			if first && cursor == 0 {
				o.anomaly("", KindPrependedData, 0, "%d bytes before the first record (a self-extracting archive or a polyglot file)", s.start)
			} else {
				o.anomaly("", KindGap, cursor, "%d bytes at offset %d belong to no entry", s.start-cursor, cursor)
			}
		}
		first = false
		cursor = max(cursor, s.end)
	}
	if cursor < size {
		o.anomaly("", KindTrailingData, cursor, "%d bytes after the last record", size-cursor)
	}
}
