package analyzer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// HeadSize is how many leading bytes of every input the engine reads for
// sniffing.
const HeadSize = 4096

// Limits bound the resources one input (a file given to the scan, with
// everything inside it) may take. Breaking a limit is a finding.
type Limits struct {
	// MaxDepth is how deep containers may nest inside a file.
	MaxDepth int `yaml:"max_depth" json:"max_depth"`
	// MaxTotalBytes is how many bytes decompressors may produce for one file.
	MaxTotalBytes int64 `yaml:"max_total_bytes" json:"max_total_bytes"`
	// MaxRatio is the largest compression ratio accepted for a member once
	// it has produced RatioFloor bytes.
	MaxRatio float64 `yaml:"max_ratio" json:"max_ratio"`
	// RatioFloor is how many bytes a member may decompress to before
	// MaxRatio applies: small members of zeros compress very well.
	RatioFloor int64 `yaml:"ratio_floor" json:"ratio_floor"`
	// MaxMembers is how many container members one file may hold, in all.
	MaxMembers int `yaml:"max_members" json:"max_members"`
	// Timeout is the time budget of one file.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// MaxPickleStack bounds the pickle VM's stack and mark stack.
	MaxPickleStack int `yaml:"max_pickle_stack" json:"max_pickle_stack"`
	// MaxPickleMemo bounds the number of memo entries of one pickle.
	MaxPickleMemo int `yaml:"max_pickle_memo" json:"max_pickle_memo"`
	// MaxPickleOps bounds the number of opcodes of one pickle stream; 0
	// means no bound (the time budget still applies).
	MaxPickleOps int64 `yaml:"max_pickle_ops" json:"max_pickle_ops"`
}

// DefaultLimits are the limits of a scan that sets none.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:       8,
		MaxTotalBytes:  32 << 30,
		MaxRatio:       200,
		RatioFloor:     64 << 20,
		MaxMembers:     100_000,
		Timeout:        2 * time.Minute,
		MaxPickleStack: 1 << 20,
		MaxPickleMemo:  1 << 22,
	}
}

// Input is one thing to analyze: a file on disk or a member of a container.
// The engine builds inputs; tests build them with NewBytesInput.
type Input struct {
	// Location is where the input is; findings inside it extend it.
	Location finding.Location
	// Name is the base name of the file or member; it only breaks ties.
	Name string
	// Size is the size in bytes, or -1 when unknown (a stream).
	Size int64
	// Head holds the first HeadSize bytes (fewer for a shorter input).
	Head []byte
	// Depth is the container nesting depth: 0 for a file on disk.
	Depth int
	// Limits are the limits in force.
	Limits *Limits

	ra    io.ReaderAt
	open  func() (io.ReadCloser, error)
	spool func() (io.ReaderAt, int64, error)
}

// NewInput builds an input. ra may be nil for a stream-only input, in which
// case open must be set; spool, when set, turns the stream into random
// access on demand.
func NewInput(loc finding.Location, name string, size int64, head []byte, depth int, limits *Limits,
	ra io.ReaderAt, open func() (io.ReadCloser, error), spool func() (io.ReaderAt, int64, error)) *Input {
	return &Input{Location: loc, Name: name, Size: size, Head: head, Depth: depth, Limits: limits,
		ra: ra, open: open, spool: spool}
}

// NewBytesInput returns an input reading data, named name, with default limits.
func NewBytesInput(name string, data []byte) *Input {
	limits := DefaultLimits()
	head := data
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	return &Input{Location: finding.Location{Path: name, Offset: -1}, Name: name, Size: int64(len(data)),
		Head: head, Limits: &limits, ra: bytes.NewReader(data)}
}

// HasReaderAt reports whether the input's bytes can be read at any offset
// without copying them.
func (in *Input) HasReaderAt() bool { return in.ra != nil }

// ReaderAt returns random access to the input and its size. For a stream
// (a compressed member), the engine first copies it to a temporary file,
// within the limits.
func (in *Input) ReaderAt() (io.ReaderAt, int64, error) {
	if in.ra != nil {
		return in.ra, in.Size, nil
	}
	if in.spool == nil {
		return nil, 0, errors.New("input has no random access")
	}
	ra, size, err := in.spool()
	if err != nil {
		return nil, 0, err
	}
	in.ra, in.Size = ra, size
	return ra, size, nil
}

// Open returns a stream of the input's bytes from the start.
func (in *Input) Open() (io.ReadCloser, error) {
	if in.ra != nil {
		if in.Size < 0 {
			return nil, fmt.Errorf("input %s has random access but no size", in.Name)
		}
		return io.NopCloser(io.NewSectionReader(in.ra, 0, in.Size)), nil
	}
	if in.open == nil {
		return nil, errors.New("input cannot be opened")
	}
	return in.open()
}
