package safetensors

import (
	"fmt"

	"github.com/violet-mlsecops/violet/analyzer"
)

// Class names a kind of header field that corrupts or overreads the memory
// of a safetensors loader. Each class has one entry in Advisories.
type Class = string

// The classes of memory-safety triggers.
const (
	// ClassHeaderLength: a header length past the file, or past the
	// 100 MB the reference implementation reads.
	ClassHeaderLength Class = "header-length"
	// ClassNumber: a shape or data_offsets value that is negative or
	// past 2^64.
	ClassNumber Class = "number-range"
	// ClassReversedOffsets: data_offsets whose end is before their begin.
	ClassReversedOffsets Class = "reversed-offsets"
	// ClassPastEnd: data_offsets past the end of the data section.
	ClassPastEnd Class = "past-end"
	// ClassShapeOverflow: a shape whose element count, or whose size in
	// bits, wraps past 2^64.
	ClassShapeOverflow Class = "shape-overflow"
	// ClassShortOffsets: a shape and dtype that need more bytes than the
	// data_offsets give.
	ClassShortOffsets Class = "short-offsets"
	// ClassUnknownDtype: an unknown dtype with a shape that the tensor's
	// bytes could not hold at any element width.
	ClassUnknownDtype Class = "unknown-dtype"
	// ClassDuplicateName: a tensor name given twice.
	ClassDuplicateName Class = "duplicate-name"
)

// Advisory documents one class of trigger: the loader it was reported
// against, the advisory (or "class of" with a description where the class
// has no CVE or GHSA id) and a source URL. The table is data: the findings
// quote it and a documentation page can list it.
type Advisory = analyzer.Advisory

func adv(class Class, loader, id, summary, url string) Advisory {
	return Advisory{Class: class, Loader: loader, ID: id, Summary: summary, URL: url}
}

// Advisories lists, for each class of trigger, the loader and the report.
// The reference implementation (the safetensors Rust crate behind
// safetensors.torch.load_file) refuses every one of these headers; the
// loaders named are the lenient ones that did not.
var Advisories = []Advisory{
	adv(ClassHeaderLength, "fastllm's SafeTensors reader (src/model.cpp)",
		"class of unchecked header length (no CVE; fastllm PR 713)",
		"the 8-byte header length goes into new char[n + 5], which wraps to a few bytes that fread then overflows",
		"https://github.com/ztxz16/fastllm/pull/713"),
	adv(ClassNumber, "stable-diffusion.cpp read_safetensors_file",
		"class of unchecked shape values (no CVE; stable-diffusion.cpp issue 1876)",
		"negative or huge dimensions reach a signed element-count product that wraps, and the tensor is accessed through a null or short buffer",
		"https://github.com/leejet/stable-diffusion.cpp/issues/1876"),
	adv(ClassReversedOffsets, "MLX mx.load (mlx/io/safetensors.cpp)",
		"class of unvalidated data_offsets (no CVE; MLX issue 3409, fixed in PR 3410)",
		"end minus begin wraps to a huge length and the loader reads far outside the file mapping",
		"https://github.com/ml-explore/mlx/pull/3410"),
	adv(ClassPastEnd, "MLX mx.load (mlx/io/safetensors.cpp)",
		"class of data_offsets unchecked against the file (no CVE; MLX issue 3409, fixed in PR 3410)",
		"the tensor is read from past the end of the file mapping when it is evaluated",
		"https://github.com/ml-explore/mlx/issues/3409"),
	adv(ClassShapeOverflow, "safetensors-cpp validate_data_offsets (vendored in LiteRT)",
		"class of shape-product wrap (no CVE; LiteRT issue 9255)",
		"the unchecked shape product wraps to 0, the bounds checks are skipped for an empty tensor, and the offsets are used as they are",
		"https://github.com/google-ai-edge/LiteRT/issues/9255"),
	adv(ClassShortOffsets, "MLX mx.load (mlx/io/safetensors.cpp)",
		"class of shape/offset mismatch (no CVE; MLX issue 3363, fixed in PR 3364)",
		"the tensor is sized by its shape and read from its offsets, so the read runs past the bytes the header gives it",
		"https://github.com/ml-explore/mlx/issues/3363"),
	adv(ClassUnknownDtype, "C++ loaders that skip validation for dtypes they do not know (imp safetensors_loader)",
		"class of unknown-dtype validation bypass (no CVE; imp issue 1603)",
		"an unknown dtype skips the offset and size checks, and the tensor pointer is built from unchecked offsets",
		"https://github.com/kekzl/imp/issues/1603"),
	adv(ClassDuplicateName, "loaders whose JSON parser keeps the first entry of a name while the checks see the last (Python json keeps the last)",
		"class of parser differential (no CVE)",
		"the loader and the checks before it disagree about which shape and data_offsets the tensor has",
		"https://github.com/huggingface/safetensors"),
}

// Hazard is a header field that corrupts or overreads a loader's memory.
type Hazard struct {
	// Class is the kind of trigger.
	Class Class
	// Detail says what the header declares.
	Detail string
}

// Message is the finding's message, without a final period: the detail,
// then the loader, the advisory and its source.
func (h Hazard) Message() string {
	return analyzer.HazardMessage(Advisories, "safetensors loaders", h.Class, h.Detail)
}

// HazardError is the error of ParseHeader when it stops at a memory-safety
// trigger.
type HazardError struct{ Hazard Hazard }

func (e *HazardError) Error() string { return e.Hazard.Detail }

func hazardf(c Class, format string, args ...any) error {
	return &HazardError{Hazard{c, fmt.Sprintf(format, args...)}}
}
