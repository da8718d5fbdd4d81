package zipreader

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
)

// span is a byte range [start, end) of the input.
type span struct{ start, end int64 }

// cdCandidate is one place where some reader would look for the central
// directory, with the base added to its offsets.
type cdCandidate struct {
	start, base int64
	size        int64
	count       uint64
	who         string
}

// cdView is a parsed central directory.
type cdView struct {
	cdCandidate
	recs      []centralRecord
	consumed  int64
	truncated bool
}

// walkEntry is a local header found by the walk.
type walkEntry struct {
	lh      *localHeader
	dataLen int64
	desc    *descriptor
	end     int64 // after the data and its descriptor
	claimed bool
}

type opener struct {
	src  source
	c    *cache
	opts Options
	a    *Archive

	eocdFound  bool
	eocdCount  uint64
	records    []span // end records, for the gap check
	views      []*cdView
	cdSpans    []span
	centralAt  map[int64]*centralRecord
	walked     []*walkEntry
	walkedAt   map[int64]*walkEntry
	walkCapped bool
	localAt    map[int64]*localHeader // headers read at central offsets, nil when invalid

	// verifyBudget is how many more bytes the checks of encrypted-flagged
	// entries may read and produce: entries that share data are checked
	// once, and many overlapping entries cannot make Open superlinear.
	verifyBudget int64
	verified     map[verifyKey]verifyResult
}

type verifyKey struct {
	off, csize, usize int64
	method            uint16
}

type verifyResult struct {
	crc    uint32
	n      int64
	failed bool // the data did not decode
	far    bool // the data decoded far without an error
}

func newOpener(src source, opts Options) *opener {
	return &opener{
		src:       src,
		c:         newCache(src),
		opts:      opts,
		a:         &Archive{Size: src.size, src: src, opts: opts},
		centralAt: map[int64]*centralRecord{},
		walkedAt:  map[int64]*walkEntry{},
		localAt:   map[int64]*localHeader{},
		verified:  map[verifyKey]verifyResult{},

		verifyBudget: addOff(2*min(src.size, math.MaxInt64/4), 256<<20),
	}
}

func (o *opener) anomaly(entry, kind string, off int64, format string, args ...any) {
	o.a.Anomalies = append(o.a.Anomalies, Anomaly{Entry: entry, Kind: kind, Detail: fmt.Sprintf(format, args...), Offset: off})
}

func (o *opener) open() (*Archive, error) {
	cands := o.readEnd()
	o.readCentral(cands)
	o.walk()
	o.merge()
	if len(o.a.Entries) == 0 && (!o.eocdFound || o.eocdCount > 0 || len(o.views) == 0) {
		if !o.eocdFound {
			return nil, fmt.Errorf("%w: no end of central directory record and no local file header", ErrFormat)
		}
		return nil, fmt.Errorf("%w: neither the central directory nor the local file headers yield an entry", ErrFormat)
	}
	o.check()
	return o.a, nil
}

// readEnd finds the end of central directory record and its ZIP64 twin, and
// returns the places where readers would look for the central directory, in
// order of preference (miniz's first).
func (o *opener) readEnd() []cdCandidate {
	size := o.src.size
	n := min(size, int64(o.opts.MaxCommentSearch))
	if n < lenEOCD {
		return nil
	}
	buf := make([]byte, n)
	got, _ := o.src.ReadAt(buf, size-n)
	buf = buf[:got]
	if len(buf) < lenEOCD {
		return nil
	}
	// Python's zipfile and miniz both take the last signature that leaves
	// room for a whole record.
	i := bytes.LastIndex(buf[:len(buf)-lenEOCD+4], []byte{'P', 'K', 5, 6})
	if i < 0 {
		o.anomaly("", KindNoCentralDirectory, -1, "no end of central directory record in the last %d bytes: loaders that read the central directory cannot open this file; entries come from the local file headers", n)
		return nil
	}
	o.eocdFound = true
	pos := size - int64(len(buf)) + int64(i)
	rec := buf[i : i+lenEOCD]
	disk, cdDisk := le16(rec[4:]), le16(rec[6:])
	entriesDisk, entries := le16(rec[8:]), le16(rec[10:])
	cdSize, cdOff := le32(rec[12:]), le32(rec[16:])
	commentLen := int(le16(rec[20:]))
	after := buf[i+lenEOCD:]
	comment := after[:min(commentLen, len(after))]
	o.a.Comment = string(comment)
	o.records = append(o.records, span{pos, pos + lenEOCD + int64(len(comment))})
	if commentLen > 0 {
		o.anomaly("", KindComment, pos+lenEOCD, "archive comment of %d bytes", len(comment))
	}
	if commentLen > len(after) {
		o.anomaly("", KindComment, pos+lenEOCD, "end record declares a %d-byte comment but only %d bytes follow it", commentLen, len(after))
	}
	o.eocdCount = uint64(entries)
	if disk != 0 && disk != sat16 || cdDisk != 0 && cdDisk != sat16 {
		o.anomaly("", KindBadCentralDirectory, pos, "end record names disk %d and central directory disk %d: a multi-disk archive", disk, cdDisk)
	}
	if entriesDisk != entries {
		o.anomaly("", KindBadCentralDirectory, pos, "end record declares %d entries on this disk and %d in all", entriesDisk, entries)
	}
	saturated := entries == sat16 || cdSize == sat32 || cdOff == sat32
	eocd := cdCandidate{start: int64(cdOff), size: int64(cdSize), count: uint64(entries), who: "end of central directory record"}

	var cands []cdCandidate
	z64 := o.readZip64(pos)
	for _, z := range z64 {
		cands = append(cands, withConcat(z.cand, z.pos)...)
	}
	switch {
	case len(z64) == 0 && saturated:
		o.anomaly("", KindZip64, pos, "end record fields are saturated (entries %d, size %#x, offset %#x) but there is no valid ZIP64 end record", entries, cdSize, cdOff)
		cands = append(cands, withConcat(eocd, pos)...)
	case len(z64) == 0:
		cands = append(cands, withConcat(eocd, pos)...)
	default:
		// Readers that take each 32-bit field unless it is saturated
		// (Go's archive/zip, among others) see what the 32-bit record says.
		z := z64[0].cand
		if entries != sat16 && uint64(entries) != z.count ||
			cdSize != sat32 && int64(cdSize) != z.size ||
			cdOff != sat32 && int64(cdOff) != z.start {
			o.anomaly("", KindZip64, pos, "end record (%d entries, %d bytes at %d) and ZIP64 end record (%d entries, %d bytes at %d) disagree",
				entries, cdSize, cdOff, z.count, z.size, z.start)
			if cdSize != sat32 && cdOff != sat32 {
				cands = append(cands, withConcat(eocd, pos)...)
			}
		}
		o.eocdCount = max(o.eocdCount, z.count)
	}
	var out []cdCandidate
	for _, c := range cands {
		if !slices.ContainsFunc(out, func(d cdCandidate) bool { return d.start == c.start && d.base == c.base }) {
			out = append(out, c)
		}
	}
	return out
}

type zip64End struct {
	cand cdCandidate
	pos  int64
}

// readZip64 reads the ZIP64 end record that the locator before the end
// record at eocdPos points to (miniz's view), and the one just before the
// locator (Python's view), and returns the distinct valid ones.
func (o *opener) readZip64(eocdPos int64) []zip64End {
	locPos := eocdPos - lenLocator64
	loc, ok := o.c.at(locPos, lenLocator64)
	if !ok || le32(loc) != sigLocator64 {
		return nil
	}
	o.records = append(o.records, span{locPos, eocdPos})
	if d, n := le32(loc[4:]), le32(loc[16:]); d != 0 || n > 1 {
		o.anomaly("", KindZip64, locPos, "ZIP64 locator names disk %d of %d disks", d, n)
	}
	located, ok := toInt64(le64(loc[8:]))
	var out []zip64End
	parse := func(at int64, who string) {
		if slices.ContainsFunc(out, func(z zip64End) bool { return z.pos == at }) {
			return
		}
		r, ok := o.c.at(at, lenEOCD64)
		if !ok || le32(r) != sigEOCD64 {
			return
		}
		recLen, _ := toInt64(le64(r[4:]))
		end := min(addOff(addOff(at, 12), recLen), locPos)
		if end < at+lenEOCD64 {
			end = at + lenEOCD64
		}
		o.records = append(o.records, span{at, end})
		z := zip64End{pos: at}
		z.cand.count = le64(r[32:])
		z.cand.size, _ = toInt64(le64(r[40:]))
		z.cand.start, _ = toInt64(le64(r[48:]))
		z.cand.who = who
		if a, b := le64(r[24:]), le64(r[32:]); a != b {
			o.anomaly("", KindZip64, at, "ZIP64 end record declares %d entries on this disk and %d in all", a, b)
		}
		out = append(out, z)
	}
	if ok {
		parse(located, "ZIP64 end record at the locator's offset (miniz)")
	}
	fixed := locPos - lenEOCD64
	parse(fixed, "ZIP64 end record just before the locator (Python's zipfile)")
	switch {
	case len(out) == 0:
		o.anomaly("", KindZip64, locPos, "ZIP64 locator points to offset %d but there is no ZIP64 end record there or before the locator", located)
	case len(out) == 2:
		o.anomaly("", KindZip64, locPos, "ZIP64 locator points to a ZIP64 end record at %d, but another one is just before the locator at %d: miniz and Python's zipfile read different records", located, fixed)
	case out[0].pos != located:
		o.anomaly("", KindZip64, locPos, "ZIP64 locator points to offset %d, but the ZIP64 end record is at %d (Python's zipfile finds it, miniz does not)", located, fixed)
	}
	return out
}

// withConcat returns the candidate as stated and, when the central
// directory would end before the record at recPos, the candidate shifted the
// way Python's zipfile shifts it (offsets relative to a prefix).
func withConcat(c cdCandidate, recPos int64) []cdCandidate {
	out := []cdCandidate{c}
	concat := recPos - c.size - c.start
	if c.size >= 0 && c.start >= 0 && concat > 0 && c.start <= recPos {
		s := c
		s.start += concat
		s.base = concat
		s.who = c.who + ", shifted by the prefix (Python's zipfile)"
		out = append(out, s)
	}
	return out
}

// readCentral parses every candidate central directory and keeps the valid
// ones.
func (o *opener) readCentral(cands []cdCandidate) {
	if len(cands) == 0 {
		return
	}
	budget := o.opts.MaxEntries
	var primary *cdView
	for _, c := range cands {
		v := o.parseCD(c, budget)
		valid := len(v.recs) > 0 || (c.count == 0 && c.size == 0)
		if !valid {
			continue
		}
		if primary == nil {
			primary = v
		} else if sameRecords(primary, v) {
			continue
		} else {
			o.anomaly("", KindBadCentralDirectory, v.start,
				"a second central directory of %d entries at %d (read by the %s) differs from the one of %d entries at %d (read by the %s): loaders disagree on the members",
				len(v.recs), v.start, v.who, len(primary.recs), primary.start, primary.who)
		}
		o.views = append(o.views, v)
		if v.consumed > 0 {
			o.cdSpans = append(o.cdSpans, span{v.start, v.start + v.consumed})
		}
		if v.truncated {
			o.a.Truncated = true
		}
	}
	if primary == nil {
		c := cands[0]
		o.anomaly("", KindBadCentralDirectory, c.start, "no central directory at offset %d (declared by the %s, %d entries, %d bytes): loaders that read it cannot open this file; entries come from the local file headers", c.start, c.who, c.count, c.size)
		return
	}
	if primary.base != 0 {
		o.rebase(primary)
	}
	if !primary.truncated {
		if uint64(len(primary.recs)) != primary.count {
			o.anomaly("", KindBadCentralDirectory, primary.start, "the %s declares %d entries but the central directory holds %d (miniz reads the declared count, Python's zipfile reads the declared size)", primary.who, primary.count, len(primary.recs))
		}
		if primary.consumed != primary.size {
			o.anomaly("", KindBadCentralDirectory, primary.start, "the %s declares a central directory of %d bytes but its records take %d", primary.who, primary.size, primary.consumed)
		}
	}
	slices.SortFunc(o.cdSpans, func(a, b span) int { return cmpInt(a.start, b.start) })
	for _, v := range o.views {
		for i := range v.recs {
			r := &v.recs[i]
			if _, ok := o.centralAt[r.offset]; !ok {
				o.centralAt[r.offset] = r
			}
		}
	}
}

// rebase decides how the offsets of a central directory found away from its
// stated offset count: from the end of a prefix (Python's zipfile adds the
// prefix length), or from the start of the file (the stated offset is wrong
// and no loader reads the archive; the offsets are kept absolute).
func (o *opener) rebase(v *cdView) {
	if len(v.recs) == 0 {
		return
	}
	r := &v.recs[0]
	if _, ok := o.c.readLocal(r.offset, 0); ok {
		o.anomaly("", KindPrependedData, 0, "member offsets are relative to byte %d: Python's zipfile adds that prefix length to every offset, miniz (PyTorch) does not and fails", v.base)
		return
	}
	raw := r.offset - v.base
	if _, ok := o.c.readLocal(raw, 0); !ok {
		return
	}
	o.anomaly("", KindBadCentralDirectory, v.start, "the central directory is at %d, not at %d where the end record says: miniz and Python's zipfile fail; its offsets are read as absolute", v.start, v.start-v.base)
	for i := range v.recs {
		if v.recs[i].offset >= v.base {
			v.recs[i].offset -= v.base
		}
	}
	v.base = 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameRecords(a, b *cdView) bool {
	if len(a.recs) != len(b.recs) {
		return false
	}
	for i := range a.recs {
		if a.recs[i].name != b.recs[i].name || a.recs[i].offset != b.recs[i].offset {
			return false
		}
	}
	return true
}

// parseCD reads consecutive central directory headers from c.start, up to
// budget of them.
func (o *opener) parseCD(c cdCandidate, budget int) *cdView {
	v := &cdView{cdCandidate: c}
	if c.start < 0 || c.start >= o.src.size {
		return v
	}
	br := bufio.NewReaderSize(io.NewSectionReader(o.src, c.start, o.src.size-c.start), 64<<10)
	var hdr [lenCentral]byte
	var rest []byte
	pos := c.start
	for {
		if _, err := io.ReadFull(br, hdr[:4]); err != nil || le32(hdr[:]) != sigCentral {
			break
		}
		if len(v.recs) >= budget {
			v.truncated = true
			break
		}
		if _, err := io.ReadFull(br, hdr[4:]); err != nil {
			break
		}
		n := int(le16(hdr[28:])) + int(le16(hdr[30:])) + int(le16(hdr[32:]))
		if cap(rest) < n {
			rest = make([]byte, n)
		}
		rest = rest[:n]
		if _, err := io.ReadFull(br, rest); err != nil {
			break
		}
		r := parseCentral(hdr[:], rest, pos)
		if r.offset >= 0 {
			r.offset = addOff(r.offset, c.base)
		}
		v.recs = append(v.recs, r)
		pos += lenCentral + int64(n)
	}
	v.consumed = pos - c.start
	return v
}

// cdSpanAt returns the central directory span holding pos.
func (o *opener) cdSpanAt(pos int64) (span, bool) {
	for _, s := range o.cdSpans {
		if pos >= s.start && pos < s.end {
			return s, true
		}
	}
	return span{}, false
}

// nextCDStart returns the start of the first central directory after pos,
// or the size of the input.
func (o *opener) nextCDStart(pos int64) int64 {
	for _, s := range o.cdSpans {
		if s.start > pos {
			return s.start
		}
	}
	return o.src.size
}

// walk finds the local file headers from offset 0, following each entry's
// sizes (from its local header, or the central directory when the local
// header defers them to a data descriptor) and scanning for the next
// signature where sizes are unknown or wrong. It reads each byte of the
// input at most a bounded number of times.
func (o *opener) walk() {
	size := o.src.size
	pos := int64(0)
	for pos+lenLocal <= size {
		if s, ok := o.cdSpanAt(pos); ok {
			pos = s.end
			continue
		}
		limit := o.nextCDStart(pos)
		q, found := pos, o.c.sigAt(pos) == sigLocal
		if !found {
			q, _, found = o.c.scan(pos, limit, isLocalSig)
		}
		if !found {
			if limit >= size {
				break
			}
			pos = limit
			continue
		}
		lh, ok := o.c.readLocal(q, 1<<16)
		if !ok {
			pos = q + 1
			continue
		}
		if len(o.walked) >= o.opts.MaxEntries {
			o.walkCapped = true
			break
		}
		w := o.follow(lh, o.nextCDStart(lh.dataOff-1))
		o.walked = append(o.walked, w)
		o.walkedAt[q] = w
		pos = max(w.end, lh.dataOff)
	}
}

// follow finds where the data of the entry with local header lh ends.
func (o *opener) follow(lh *localHeader, limit int64) *walkEntry {
	w := &walkEntry{lh: lh}
	size := o.src.size
	dd := lh.flags&FlagDataDescriptor != 0
	var cands []int64
	if !dd || lh.csize != 0 {
		cands = append(cands, lh.csize)
	}
	if c := o.centralAt[lh.off]; c != nil && !slices.Contains(cands, c.csize) {
		cands = append(cands, c.csize)
	}
	for _, n := range cands {
		end := addOff(lh.dataOff, n)
		if end > size {
			continue
		}
		after := end
		var d *descriptor
		if dd {
			if desc, ok := o.c.descriptorAt(end, n, lh.zip64, true); ok {
				d, after = &desc, end+desc.length
			}
		}
		if after == size || isRecordSig(o.c.sigAt(after)) {
			w.dataLen, w.desc, w.end = n, d, after
			return w
		}
	}
	o.scanData(w, limit)
	return w
}

// scanData finds the end of data of unknown length: a data descriptor whose
// size matches, or the next record signature.
func (o *opener) scanData(w *walkEntry, limit int64) {
	lh := w.lh
	start := lh.dataOff
	if limit < start {
		limit = o.src.size
	}
	dd := lh.flags&FlagDataDescriptor != 0
	q := start
	for {
		p, sig, found := o.c.scan(q, limit, isBoundarySig)
		if !found {
			w.dataLen, w.end = limit-start, limit
			return
		}
		if sig == sigDescriptor {
			if d, ok := o.c.descriptorAt(p, p-start, lh.zip64, false); ok && d.signed {
				w.dataLen, w.desc, w.end = p-start, &d, p+d.length
				return
			}
			q = p + 1
			continue
		}
		n := p - start
		w.dataLen, w.end = n, p
		if dd {
			for _, k := range []int64{12, 20} {
				if n < k {
					continue
				}
				b, ok := o.c.at(p-k, int(k))
				if !ok {
					continue
				}
				d := descriptor{crc: le32(b), length: k}
				if k == 12 {
					d.csize, d.usize = int64(le32(b[4:])), int64(le32(b[8:]))
				} else {
					d.csize, _ = toInt64(le64(b[4:]))
					d.usize, _ = toInt64(le64(b[12:]))
				}
				if d.csize == n-k {
					w.dataLen, w.desc = n-k, &d
					break
				}
			}
		}
		return
	}
}
