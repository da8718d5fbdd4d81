package gguf

import (
	"fmt"

	"github.com/violet-mlsecops/violet/analyzer"
)

// Class names a kind of header field that corrupts or overreads the memory
// of a GGUF loader. Each class has one entry in Advisories.
type Class = string

// The classes of memory-safety triggers.
const (
	// ClassKVCount: a key/value count no file of this size can hold.
	ClassKVCount Class = "kv-count"
	// ClassTensorCount: a tensor count no file of this size can hold.
	ClassTensorCount Class = "tensor-count"
	// ClassStringLength: a string length past the end of the file.
	ClassStringLength Class = "string-length"
	// ClassArrayCount: an array of fixed-size values whose count times
	// element size wraps or runs past the end of the file.
	ClassArrayCount Class = "array-count"
	// ClassStringArrayCount: an array of strings (or of arrays) with more
	// elements than the file has bytes left.
	ClassStringArrayCount Class = "string-array-count"
	// ClassArrayType: an array element type that is no GGUF value type.
	ClassArrayType Class = "array-type"
	// ClassDims: more tensor dimensions than GGML_MAX_DIMS.
	ClassDims Class = "n-dims"
	// ClassTensorType: a tensor type id that no ggml version defines.
	ClassTensorType Class = "tensor-type"
	// ClassTensorSize: dimensions whose product, or whose product times
	// the type size, wraps past 2^63 (ggml counts in int64_t).
	ClassTensorSize Class = "tensor-size"
	// ClassTotalSize: tensor sizes whose sum wraps past 2^64.
	ClassTotalSize Class = "total-size"
	// ClassPastEOF: tensor data, or offset plus size, past the end of the
	// file.
	ClassPastEOF Class = "past-eof"
	// ClassDuplicateName: a tensor name given twice.
	ClassDuplicateName Class = "duplicate-name"
)

// Advisory documents one class of trigger: the loader it was reported
// against, the advisory (a CVE or GHSA id, or "class of" with a
// description where the class has no id of its own) and a source URL. The
// table is data: the findings quote it and a documentation page can list it.
type Advisory = analyzer.Advisory

func adv(class Class, loader, id, summary, url string) Advisory {
	return Advisory{Class: class, Loader: loader, ID: id, Summary: summary, URL: url}
}

const databricks = "https://www.databricks.com/blog/ggml-gguf-file-format-vulnerabilities"

// Advisories lists, for each class of trigger, the loader and the advisory.
var Advisories = []Advisory{
	adv(ClassKVCount, "llama.cpp/ggml gguf_init_from_file", "CVE-2024-25664",
		"n_kv times sizeof(struct gguf_kv) wraps: a small allocation, then a heap overflow while the key/values are read", databricks),
	adv(ClassStringLength, "llama.cpp/ggml gguf_init_from_file (gguf_fread_str)", "CVE-2024-25665, TALOS-2024-1913",
		"the string length plus one wraps to a tiny allocation that fread then overflows", databricks),
	adv(ClassTensorCount, "llama.cpp/ggml gguf_init_from_file", "CVE-2024-25666",
		"n_tensors times sizeof(struct gguf_tensor_info) wraps: a small allocation, then a heap overflow while the tensor infos are read", databricks),
	adv(ClassArrayCount, "llama.cpp/ggml gguf_init_from_file", "CVE-2024-25667",
		"the array element count times GGUF_TYPE_SIZE wraps: a small allocation, then a heap overflow as the elements are copied", databricks),
	adv(ClassStringArrayCount, "llama.cpp/ggml gguf_init_from_file", "CVE-2024-25668",
		"the string array element count times sizeof(struct gguf_str) wraps: a small allocation, then an out-of-bounds write", databricks),
	adv(ClassArrayType, "llama.cpp/ggml gguf_init_from_file",
		"class of unbounded GGUF_TYPE_SIZE indexing (no CVE of its own; fixed with CVE-2024-25664..25668 in ggml 6b14d73)",
		"the array element type indexes GGUF_TYPE_SIZE[] out of bounds and the size read there feeds the allocation", databricks),
	adv(ClassDims, "llama.cpp/ggml gguf_init_from_file",
		"class of unchecked tensor-info fields (no CVE of its own; the family of CVE-2024-25664..25668)",
		"n_dims indexes the four-element ne[] of the tensor info: dimensions beyond GGML_MAX_DIMS are written past it", databricks),
	adv(ClassTensorType, "llama.cpp/ggml gguf_init_from_file",
		"class of out-of-range ggml_type (no CVE of its own; fixed in llama.cpp PR 19856)",
		"the type id indexes the ggml type traits table out of bounds", "https://github.com/ggml-org/llama.cpp/pull/19856"),
	adv(ClassTensorSize, "llama.cpp/ggml ggml_nbytes", "GHSA-96jg-mvhq-q7q7 (CVE-2026-33298)",
		"the element count times the type size wraps, so the tensor gets a small buffer and is read and written far past it",
		"https://github.com/ggml-org/llama.cpp/security/advisories/GHSA-96jg-mvhq-q7q7"),
	adv(ClassTotalSize, "llama.cpp/ggml gguf_init_from_file", "GHSA-vgg9-87g3-85w8 (CVE-2025-53630)",
		"the sum of the padded tensor sizes (ctx->size) wraps, so the data buffer is allocated too small",
		"https://github.com/ggml-org/llama.cpp/security/advisories/GHSA-vgg9-87g3-85w8"),
	adv(ClassPastEOF, "Ollama's GGUF loader (fs/ggml/gguf.go, before 0.17.1)", "CVE-2026-7482 (Bleeding Llama)",
		"the tensor offset and size are trusted against a shorter file and the loader reads heap memory past it; llama.cpp's loader refuses such a file",
		"https://www.cyera.com/research/bleeding-llama-critical-unauthenticated-memory-leak-in-ollama"),
	adv(ClassDuplicateName, "llama.cpp/ggml gguf_init_from_file and loaders that look tensors up by name",
		"class of tensor-table confusion (no CVE of its own)",
		"loaders that look tensors up by name and size buffers by index disagree about which dimensions and offset apply; current llama.cpp refuses the file",
		"https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/gguf.cpp"),
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
	return analyzer.HazardMessage(Advisories, "GGUF loaders", h.Class, h.Detail)
}

// HazardError is the error of ParseHeader when it stops at a memory-safety
// trigger.
type HazardError struct{ Hazard Hazard }

func (e *HazardError) Error() string { return e.Hazard.Detail }

func hazardf(c Class, format string, args ...any) error {
	return &HazardError{Hazard{c, fmt.Sprintf(format, args...)}}
}
