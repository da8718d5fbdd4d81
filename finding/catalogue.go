package finding

import "sort"

// Rule is one entry of the rule catalogue: what a finding id means, how bad
// it is by default, and how to fix it. docs/rules.md is generated from it.
type Rule struct {
	// ID is stable: reports, suppressions and policies name rules by it.
	ID string `json:"id"`
	// Title is a one-line summary.
	Title string `json:"title"`
	// Severity is the default severity.
	Severity Severity `json:"severity"`
	// ATLAS lists the MITRE ATLAS technique ids.
	ATLAS []string `json:"atlas,omitempty"`
	// Description says what the rule catches and why it matters.
	Description string `json:"description"`
	// Remediation says how to fix a finding of this rule.
	Remediation string `json:"remediation"`
	// Incomplete marks rules whose findings mean "this input could not be
	// fully analyzed"; a scan with such a finding never passes as clean.
	Incomplete bool `json:"incomplete,omitempty"`
}

// ATLAS technique ids used by the catalogue (MITRE ATLAS v5).
const (
	atlasSupplyChainModel = "AML.T0010.003" // AI Supply Chain Compromise: Model
	atlasUnsafeArtifacts  = "AML.T0011.000" // User Execution: Unsafe AI Artifacts
	atlasScripting        = "AML.T0050"     // Command and Scripting Interpreter
	atlasExfilCyber       = "AML.T0025"     // Exfiltration via Cyber Means
	atlasDenialOfService  = "AML.T0029"     // Denial of AI Service
	atlasDefenseEvasion   = "AML.T0107"     // Exploitation for Defense Evasion
	atlasEmbedMalware     = "AML.T0018.002" // Manipulate AI Model: Embed Malware
	atlasSupplyChainSW    = "AML.T0010.001" // AI Supply Chain Compromise: AI Software
)

// Rule ids. Each is in the catalogue below.
const (
	PickleCodeExec      = "PICKLE-CODE-EXEC"
	PickleProcess       = "PICKLE-PROCESS"
	PickleFilesystem    = "PICKLE-FILESYSTEM"
	PickleNetwork       = "PICKLE-NETWORK"
	PickleNestedLoad    = "PICKLE-NESTED-DESERIALIZATION"
	PickleDynamicImport = "PICKLE-DYNAMIC-IMPORT"
	PickleInternals     = "PICKLE-INTERPRETER-INTERNALS"
	PickleUnknownCall   = "PICKLE-UNKNOWN-GLOBAL-CALL"
	PickleUnknownRef    = "PICKLE-UNKNOWN-GLOBAL"
	PickleMalformed     = "PICKLE-MALFORMED"
	PickleLimit         = "PICKLE-LIMIT"
	PickleGlobal        = "PICKLE-GLOBAL"
	PickleFrameMismatch = "PICKLE-FRAME-MISMATCH"
	NumpyObjectArray    = "NUMPY-OBJECT-ARRAY"
	SafetensorsLayout   = "SAFETENSORS-LAYOUT"
	GGUFLayout          = "GGUF-LAYOUT"
	TemplateInjection   = "TEMPLATE-INJECTION"
	TemplateSuspicious  = "TEMPLATE-SUSPICIOUS"
	ONNXExternalData    = "ONNX-EXTERNAL-DATA"
	ONNXCustomDomain    = "ONNX-CUSTOM-DOMAIN"
	KerasLambda         = "KERAS-LAMBDA"
	KerasUnsafeModule   = "KERAS-UNSAFE-MODULE"
	KerasCustomObject   = "KERAS-CUSTOM-OBJECT"

	KerasExternalReference = "KERAS-EXTERNAL-REFERENCE"
	KerasEmbeddedObject    = "KERAS-EMBEDDED-OBJECT"
	KerasUnsafeFunction    = "KERAS-UNSAFE-FUNCTION"

	TFUnsafeOp          = "TF-UNSAFE-OP"
	TFUnknownOp         = "TF-UNKNOWN-OP"
	HFRemoteCode        = "HF-REMOTE-CODE"
	HFRemoteCodeImports = "HF-REMOTE-CODE-IMPORTS"
	TFLiteCustomOp      = "TFLITE-CUSTOM-OP"
	MsgpackExtension    = "MSGPACK-EXTENSION"
	SymlinkOutside      = "SYMLINK-OUTSIDE"
	ScanConfigIgnored   = "SCAN-CONFIG-IGNORED"
	ContentNotFetched   = "CONTENT-NOT-FETCHED"
	FormatNameMismatch  = "FORMAT-NAME-MISMATCH"
	DepsVulnerable      = "DEPS-VULNERABLE"
	DepsMalicious       = "DEPS-MALICIOUS"
	DepsTyposquat       = "DEPS-TYPOSQUAT"
	DepsConfusion       = "DEPS-CONFUSION"
	DepsUnpinned        = "DEPS-UNPINNED"
	DepsNoHash          = "DEPS-NO-HASH"
	DepsDirectURL       = "DEPS-DIRECT-URL"
	DepsMalformed       = "DEPS-MALFORMED"
	GateDeny            = "GATE-DENY"
	FormatMalformed     = "FORMAT-MALFORMED"
	FormatUnrecognized  = "FORMAT-UNRECOGNIZED"
	ArchiveZipAnomaly   = "ARCHIVE-ZIP-ANOMALY"
	ArchivePathEscape   = "ARCHIVE-PATH-ESCAPE"
	// ConfigTargetDangerous and ConfigTargetUnknown judge the _target_ of
	// configuration files as the pickle policy judges a global.
	ConfigTargetDangerous = "CONFIG-TARGET-DANGEROUS"
	ConfigTargetUnknown   = "CONFIG-TARGET-UNKNOWN"
	ArchiveEncrypted      = "ARCHIVE-ENCRYPTED"
	ArchiveUnreadable     = "ARCHIVE-UNREADABLE"
	LimitDepth            = "LIMIT-DEPTH"
	LimitSize             = "LIMIT-SIZE"
	LimitRatio            = "LIMIT-RATIO"
	LimitMembers          = "LIMIT-MEMBERS"
	LimitTime             = "LIMIT-TIME"
	ScanError             = "SCAN-ERROR"
)

// Rule ids of headers that corrupt or overread the memory of real loaders
// (next to SafetensorsLayout and GGUFLayout, which stay medium).
const (
	SafetensorsMemorySafety = "SAFETENSORS-MEMORY-SAFETY"
	GGUFMemorySafety        = "GGUF-MEMORY-SAFETY"
)

// HDF5ExternalData is the rule of HDF5 files whose datasets or links make
// the HDF5 library read other files of the host.
const HDF5ExternalData = "HDF5-EXTERNAL-DATA"

// PyTorchMemorySafety is the rule of PyTorch zip checkpoints whose storages
// or tensors reach past the records that hold their bytes.
const PyTorchMemorySafety = "PYTORCH-MEMORY-SAFETY"

// atlas returns base followed by more, in a new slice.
func atlas(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

var dangerousPickleATLAS = []string{atlasUnsafeArtifacts, atlasSupplyChainModel, atlasEmbedMalware}

const pickleFix = "Do not load this file. Get the model from its original publisher and verify it, or ask for it in " +
	"a format that cannot run code (safetensors, GGUF, ONNX). If the file is yours, re-save the weights only " +
	"(torch.save(model.state_dict()) or safetensors)."

var catalogue = []Rule{
	{ID: PickleCodeExec, Title: "Pickle runs Python code", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "The pickle imports a callable that evaluates Python source or bytecode (eval, exec, compile, code objects, runpy, the debugger and profiler entry points, ctypes). Loading the file runs the attacker's code.",
		Remediation: pickleFix},
	{ID: PickleProcess, Title: "Pickle starts a process", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "The pickle imports a callable that starts a process or a shell (os.system, subprocess, pty, pip, pagers, asyncio subprocess transports). Loading the file runs a command.",
		Remediation: pickleFix},
	{ID: PickleFilesystem, Title: "Pickle touches the file system", Severity: Critical,
		ATLAS:       dangerousPickleATLAS,
		Description: "The pickle imports a callable that reads, writes or deletes files (open, io.FileIO, shutil, os file functions, pathlib, tempfile, logging file handlers). Loading the file can plant or steal files.",
		Remediation: pickleFix},
	{ID: PickleNetwork, Title: "Pickle opens a network connection", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasExfilCyber),
		Description: "The pickle imports a networking callable (socket, urllib, http.client, requests, aiohttp, smtplib, webbrowser). Loading the file can exfiltrate data or fetch a second stage.",
		Remediation: pickleFix},
	{ID: PickleNestedLoad, Title: "Pickle deserializes more data", Severity: Critical,
		ATLAS:       dangerousPickleATLAS,
		Description: "The pickle calls another deserializer (pickle.loads, marshal, torch.load, numpy.load, joblib.load, pandas.read_pickle, dill, shelve). A payload hidden in an argument or another file escapes a scan of this stream.",
		Remediation: pickleFix},
	{ID: PickleDynamicImport, Title: "Pickle imports or resolves names at load time", Severity: Critical,
		ATLAS:       dangerousPickleATLAS,
		Description: "The pickle imports a callable that imports modules or looks up attributes by name (__import__, importlib, getattr, operator.attrgetter and methodcaller, pydoc.locate). These gadgets reach any function without naming it in a GLOBAL opcode.",
		Remediation: pickleFix},
	{ID: PickleInternals, Title: "Pickle reaches interpreter internals", Severity: Critical,
		ATLAS:       dangerousPickleATLAS,
		Description: "The pickle names interpreter internals: the sys module, gc, inspect, the builtins module's globals(), or a dunder attribute anywhere in a dotted name (numpy.__builtins__, f.__globals__). These are the building blocks of escapes from allowlists.",
		Remediation: pickleFix},
	{ID: PickleUnknownCall, Title: "Pickle calls a function that is not on the allowlist", Severity: High,
		ATLAS:       dangerousPickleATLAS,
		Description: "The pickle calls (REDUCE, INST, OBJ, NEWOBJ) a global that real model files do not use. Violet denies by default: the public scanners that only look for known-bad names are bypassed by obscure gadgets in the standard library and in ML libraries.",
		Remediation: "Read the evidence: if the callable is a class of a library you trust and the file comes from a source you trust, allow it with --allow module.name or in .violet.yaml (allow:). Otherwise treat the file as malicious."},
	{ID: PickleUnknownRef, Title: "Pickle references a global that is not on the allowlist", Severity: Medium,
		ATLAS:       dangerousPickleATLAS,
		Description: "The pickle imports a global that is not on the allowlist without calling it directly. A stored callable can still be called later by the code that uses the object.",
		Remediation: "Check what the global is. If it is a class of a library you trust, allow it with --allow module.name or in .violet.yaml."},
	{ID: PickleGlobal, Title: "Pickle global, explained", Severity: Info,
		Description: "Reported only by violet scan --explain: one finding per global a pickle stream uses, saying how it is used (referenced, instantiated without its constructor, an Enum looked up by value, called, an instance of it called, or through which helper) and which allowlist, library or denylist entry decided its verdict. It never fails a scan.",
		Remediation: "Nothing to fix: read it to see why a file passed or failed."},
	{ID: PickleFrameMismatch, Title: "Pickle frames are read differently by CPython's unpicklers", Severity: High,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "An opcode's argument runs past the end of its protocol 4 frame, or a frame begins inside another. No pickler writes this. CPython's readers part ways there: pickle.loads reads on across the frame's end, the C unpickler reading a file object (torch.load of a zip checkpoint) drops the rest of the frame and reads on from the file, and the pure-Python unpickler (joblib) raises. An attacker uses it to show a scanner that reads one way a harmless stream and the loader the payload. Violet traces the stream as each reader reads it and reports what any of them would run; this finding says the file was built to confuse.",
		Remediation: "Treat the file as hostile: a genuine model file never has it."},
	{ID: PickleMalformed, Title: "Pickle stream is malformed", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The stream breaks the pickle format (an unknown opcode, a stack underflow, a missing memo entry, a truncated argument). CPython stops at that point; Violet reports everything that would have run before it, and the file counts as not fully analyzed (exit 2): a genuine model is never malformed, and a stream cut short may be what a loader reads differently. Malformed streams are used to confuse scanners that parse differently from CPython.",
		Remediation: "A genuine model file is never malformed: re-download it, and if the error persists treat the file as hostile."},
	{ID: PickleLimit, Title: "Pickle exceeds an analysis limit", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDenialOfService},
		Description: "The pickle needs more stack, memo or object nesting than the limits allow (for example a billion-laughs expansion through the memo). The rest of the stream was not analyzed.",
		Remediation: "Treat the file as hostile unless you know why it is so large; raise the limit in .violet.yaml only for a file you trust."},
	{ID: NumpyObjectArray, Title: "NumPy array holds pickled objects", Severity: Low,
		ATLAS:       []string{atlasUnsafeArtifacts},
		Description: "The .npy array has dtype object: numpy.load needs allow_pickle=True and unpickles its content. The pickle inside was scanned; this finding says the file is not plain numeric data.",
		Remediation: "Store numeric arrays with a numeric dtype; load object arrays only from trusted sources."},
	{ID: SafetensorsLayout, Title: "safetensors header does not match its data", Severity: Medium,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The header of a safetensors file lies about its data: tensors overlap or leave gaps, sizes do not match dtypes and shapes, bytes follow the last tensor, or the metadata is not all strings (what corrupts a loader's memory, such as data past the end or a name given twice, is SAFETENSORS-MEMORY-SAFETY). The reference loader refuses such a file, more lenient readers do not, and the unclaimed bytes can hide a payload for a second-stage loader: Violet scans them as files of their own.",
		Remediation: "Re-export the weights with the safetensors library (safetensors.torch.save_file). Do not load a file whose header was edited by hand."},
	{ID: GGUFLayout, Title: "GGUF tensor infos do not match the data", Severity: Medium,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The tensor infos of a GGUF file lie about its data: a tensor is misaligned, overlaps another or has dimensions that are not whole blocks of its type, or bytes belong to no tensor (what corrupts a loader's memory, such as data past the end or a name given twice, is GGUF-MEMORY-SAFETY). llama.cpp refuses some of these; the unclaimed bytes can hide a payload for a second-stage loader, and Violet scans them as files of their own.",
		Remediation: "Re-convert the model with llama.cpp's own tools (convert_hf_to_gguf.py, llama-quantize); do not load a file whose header was edited by hand."},
	{ID: SafetensorsMemorySafety, Title: "safetensors header corrupts the memory of lenient loaders", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel, atlasDenialOfService},
		Description: "The header of a safetensors file declares sizes that make loaders read or write outside their buffers: a header length past the file or the 100 MB the reference reads, data_offsets that end before they begin or past the data, a shape whose size wraps or needs more bytes than its data_offsets give, negative numbers, an unknown dtype with a shape no data could hold, or a name given twice. The reference crate (safetensors.torch.load_file) refuses them; lenient C, C++ and Go loaders (MLX, stable-diffusion.cpp, fastllm, safetensors-cpp...) have overflowed on each. The finding names the loader and the issue that documents the class.",
		Remediation: "Do not load the file with any loader other than the reference safetensors library, and treat it as hostile: a genuine export never declares such sizes. Re-export the weights with safetensors.torch.save_file from a trusted copy."},
	{ID: GGUFMemorySafety, Title: "GGUF header corrupts the memory of GGUF loaders", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel, atlasDenialOfService},
		Description: "The GGUF header holds a trigger of the heap overflows and out-of-bounds reads reported against llama.cpp/ggml gguf_init_from_file and the loaders built on it (Ollama, llama-cpp-python, LM Studio): counts or string and array lengths no file of its size can hold (CVE-2024-25664 to CVE-2024-25668), more than four dimensions, a tensor type no ggml defines, sizes that wrap past 2^63 (GHSA-96jg-mvhq-q7q7, GHSA-vgg9-87g3-85w8), tensor data past the end of the file (CVE-2026-7482), or a tensor name given twice. The finding names the loader and the advisory.",
		Remediation: "Do not load the file, and keep llama.cpp, Ollama and other GGUF loaders up to date. A converter never writes such a header: get the model again from its publisher, or re-convert it with llama.cpp's own tools."},
	{ID: TemplateInjection, Title: "Chat template reaches Python internals", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "The chat template (in a GGUF file, tokenizer_config.json or chat_template.jinja) reaches Python objects a template never needs: dunder attributes (__class__, __globals__, __subclasses__, __builtins__, __init__...), or the module and OS objects behind them. Serving the model renders the template in a Jinja engine, and this is how CVE-2024-34359 (llama-cpp-python) and its kin run code on the server.",
		Remediation: "Do not serve the model. Replace the chat template with the model family's published one, or render templates in a sandboxed environment (jinja2.sandbox.ImmutableSandboxedEnvironment)."},
	{ID: TemplateSuspicious, Title: "Chat template uses constructs real templates do not", Severity: Medium,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The chat template uses constructs that the chat templates of the well-known model families do not, and that template injections use to hide what they reach: the global helpers cycler, joiner, lipsum, namespace or self, the attr filter with a computed or escaped name, or attribute names built by concatenation.",
		Remediation: "Compare the template with the model family's published one and review the construct; render templates in a sandboxed environment."},
	{ID: ONNXExternalData, Title: "ONNX external data points outside the model folder", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel},
		Description: "A tensor of the ONNX model stores its data in an external file whose location is absolute, climbs out of the model folder with .., goes through a symbolic link out of it, or declares an offset and length that do not fit the file. Loading the model reads (and with some tools writes) files anywhere on the machine.",
		Remediation: "Do not load the model. Keep external data files beside the model with relative names, or convert the model to a single file (onnx.save_model without save_as_external_data)."},
	{ID: ONNXCustomDomain, Title: "ONNX model uses custom operators", Severity: Medium,
		ATLAS:       []string{atlasUnsafeArtifacts},
		Description: "The model imports an operator set outside the standard ONNX domains (ai.onnx, ai.onnx.ml, com.microsoft and the other runtime domains): running it needs a custom operator library, which is native code that comes from somewhere.",
		Remediation: "Find out which library implements the domain and where it comes from before you load the model with it."},
	{ID: KerasLambda, Title: "Keras model holds a Lambda layer", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "The Keras model has a Lambda layer, or a function serialized as Python bytecode (__lambda__); the finding shows the names and constants the decoded bytecode uses. Loading it with safe_mode=False, or with an older Keras, or as an H5 file, runs that bytecode.",
		Remediation: "Do not load the model. Ask for a model without Lambda layers (a registered custom layer whose code you review), or for weights only."},
	{ID: KerasUnsafeModule, Title: "Keras config names an object outside Keras", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "The model config (config.json of a .keras file, model_config of an H5 file) asks Keras to deserialize an object whose module is not Keras or TensorFlow (os, builtins, subprocess...): Keras imports that module and calls the object while it loads the model, safe_mode or not (CVE-2025-1550 and its kin).",
		Remediation: "Do not load the model. Get it from its publisher, or re-save it from a trusted Keras with only Keras layers."},
	{ID: KerasCustomObject, Title: "Keras model needs custom objects", Severity: Medium,
		ATLAS:       []string{atlasUnsafeArtifacts},
		Description: "The model uses registered custom objects (layers, losses, metrics) whose code is not in the file: loading it runs whatever code provides them.",
		Remediation: "Review the code that registers the custom objects before you load the model with it."},
	{ID: KerasExternalReference, Title: "Keras config makes the loader read a file or a URL", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel, atlasExfilCyber},
		Description: "A value of the model config names a file, a folder or a URL outside the model file that Keras reads, loads or writes while it loads the model, safe_mode or not: a StringLookup, IntegerLookup or TextVectorization vocabulary given as a path (CVE-2025-12058: local file read, SSRF through tf.io.gfile), the SavedModel of a TFSMLayer (CVE-2026-1462), a TensorFlow Hub handle, the origin, fname or cache_dir of a download, an absolute path, a URL, or a path or layer name that climbs out of its folder with .. (CVE-2026-12479).",
		Remediation: "Do not load the model. A self-contained model keeps its vocabularies and weights inside the .keras file (Keras stores them as assets); ask for one, or re-save it from a trusted Keras without external references."},
	{ID: KerasEmbeddedObject, Title: "Keras config carries a serialized object that a layer deserializes", Severity: High,
		ATLAS:       atlas(dangerousPickleATLAS),
		Description: "A value of the model config is a serialized object encoded as base64 or hex: the torch.save archive of a TorchModuleWrapper layer, which Keras hands to torch.load(weights_only=False) when it builds the layer (even with safe_mode=True in Keras 3.11.0 to 3.11.2, CVE-2025-49655), or a pickle, zip, HDF5 or marshaled code blob in any other key. Violet decodes it and scans it as a member of the file: what it would run is reported by the analyzer of its format.",
		Remediation: "Do not load the model unless the findings on the decoded member are clean and you trust its source. Ask for the weights in a format that cannot run code (model.weights.h5, safetensors)."},
	{ID: KerasUnsafeFunction, Title: "Keras config calls a Keras function that downloads, loads files or turns safe_mode off", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "The model config hands a function of Keras itself to a layer as a callable (a Lambda's function, an activation): keras.utils.get_file (CVE-2025-8747: downloads a file, and extracts archives with path traversal, CVE-2025-12060), keras.models.load_model or load_weights (loads more files with arguments the config chooses), keras.config.enable_unsafe_deserialization or set_global_attribute (CVE-2025-9906: turns safe_mode off, then a Lambda's bytecode runs). The module check of Keras 3.9 lets these through because they are Keras' own.",
		Remediation: "Do not load the model. No genuine model uses these functions as layers or activations."},
	{ID: TFUnsafeOp, Title: "TensorFlow graph runs Python or touches files", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "The SavedModel or GraphDef holds operations that run Python (PyFunc, EagerPyFunc, PyFuncStateless) or read, write or list files (ReadFile, WriteFile, MatchingFiles, Save, Restore...): serving or running the model executes them.",
		Remediation: "Do not load or serve the model. Ask for a graph of plain math operations, or for weights only."},
	{ID: TFUnknownOp, Title: "TensorFlow graph uses operations outside the core set", Severity: Medium,
		ATLAS:       []string{atlasUnsafeArtifacts},
		Description: "The graph uses operations that are not in Violet's table of core TensorFlow operations: custom ops from a shared library, or new ones.",
		Remediation: "Find out which library provides the operations before you load the model."},
	{ID: HFRemoteCode, Title: "Model repository needs trust_remote_code", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel},
		Description: "config.json or tokenizer_config.json maps classes to Python files of the repository (auto_map): loading the model with trust_remote_code=True imports and runs those files.",
		Remediation: "Read the named Python files before you pass trust_remote_code=True, pin the repository revision you reviewed, or use a model supported natively by transformers."},
	{ID: HFRemoteCodeImports, Title: "Remote code of a model repository reaches the system", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel, atlasScripting},
		Description: "A Python file that the repository asks transformers to run imports modules that start processes, touch files or the network, or load code dynamically (os, subprocess, socket, requests, importlib...).",
		Remediation: "Review what the file does with those modules before you trust the repository's code; pin the revision you reviewed."},
	{ID: DepsVulnerable, Title: "Python package has a known vulnerability", Severity: High,
		ATLAS:       []string{atlasSupplyChainSW},
		Description: "A pinned package version, or every version an unpinned requirement allows (torch<2.6), is affected by a vulnerability that OSV records (CVE, GHSA, PYSEC). The finding's severity is the record's (CVSS, or the advisory's rating), and it names the fixed versions.",
		Remediation: "Upgrade to a fixed version (the finding lists them) and regenerate the lockfile; if you cannot, check whether the vulnerable code path is reachable and record the decision."},
	{ID: DepsMalicious, Title: "Python package is known malware", Severity: Critical,
		ATLAS:       []string{atlasSupplyChainSW, atlasUnsafeArtifacts},
		Description: "The package, or this version of it, is a malicious release that OSV records (MAL- records, matched whether or not the requirement pins a version: typosquats, dependency confusion, compromised releases such as torchtriton and ultralytics 8.3.41).",
		Remediation: "Remove it, treat every machine that installed it as compromised (rotate credentials it could read), and pin the legitimate package by hash."},
	{ID: DepsTyposquat, Title: "Python package name imitates a popular ML package", Severity: High,
		ATLAS:       []string{atlasSupplyChainSW},
		Description: "The name is one edit, a swapped pair, a separator trick, a py/python prefix or a look-alike character away from a popular ML package: the classic way to get malware installed by a typo.",
		Remediation: "Check that you meant this package and not the popular one it resembles; if you did not, replace it and check the machines that installed it."},
	{ID: DepsConfusion, Title: "Extra package index allows dependency confusion", Severity: High,
		ATLAS:       []string{atlasSupplyChainSW},
		Description: "The file adds an extra index (--extra-index-url, a secondary source) beside PyPI: pip installs a package from whichever index offers the highest version, so a public package with the name of a private one wins (the torchtriton attack on PyTorch nightly).",
		Remediation: "Use one index that proxies PyPI (--index-url), or pin every package by hash (--require-hashes), or reserve your private names on PyPI."},
	{ID: DepsUnpinned, Title: "Python requirement is not pinned", Severity: Low,
		ATLAS:       []string{atlasSupplyChainSW},
		Description: "The requirement allows a range of versions: the version installed changes over time, a compromised or vulnerable release is picked up without review, and the vulnerability check cannot say which version runs.",
		Remediation: "Pin the exact version (==), or better, use a lockfile (uv lock, poetry lock, pip-compile --generate-hashes)."},
	{ID: DepsNoHash, Title: "Python requirement has no hash", Severity: Low,
		ATLAS:       []string{atlasSupplyChainSW},
		Description: "A requirements file pins packages without --hash: a replaced file on the index (or a compromised mirror) is installed without notice.",
		Remediation: "Generate hashes (pip-compile --generate-hashes, uv pip compile --generate-hashes) and install with --require-hashes."},
	{ID: DepsDirectURL, Title: "Python package comes from a URL, a VCS or a path", Severity: Medium,
		ATLAS:       []string{atlasSupplyChainSW},
		Description: "The package is installed from a direct URL, a git repository or a local path instead of an index: its content is not what any advisory database describes, and a moving branch installs whatever it points to today.",
		Remediation: "Pin a commit (git+https://...@<sha>) or a URL with #sha256=, or publish the package to your index."},
	{ID: DepsMalformed, Title: "Dependency file could not be read", Severity: Medium, Incomplete: true,
		Description: "A dependency file is malformed, or cannot be read statically (setup.py computing its install_requires, a file or folder that cannot be opened): its packages were not checked.",
		Remediation: "Fix the file at the line the finding names (or regenerate the lockfile; list setup.py requirements literally or in pyproject.toml), or make the folder readable, then run violet deps again."},
	{ID: GateDeny, Title: "The release policy denies the model", Severity: High,
		Description: "violet gate evaluated the release policy over the evidence about the model (scan, signature, ML-BOM, dependencies, attestations) and a rule denies it; the finding's evidence is the policy rule's id and its message the reason.",
		Remediation: "Fix what the reason names (docs/policy.md explains each rule of the default policy), or change the policy's data if the team decides the rule should not apply."},
	{ID: TFLiteCustomOp, Title: "TFLite model needs custom operators", Severity: Medium,
		ATLAS:       []string{atlasUnsafeArtifacts},
		Description: "The TFLite model uses custom operators (a custom_code in its operator codes, or a builtin code TFLite does not define): running it needs the native library that implements them.",
		Remediation: "Find out which library implements the custom operators and where it comes from before you run the model."},
	{ID: MsgpackExtension, Title: "Flax/msgpack checkpoint holds unexpected extension types", Severity: Medium,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The msgpack checkpoint holds extension types that Flax does not write (Flax uses its own codes for ndarrays, complex numbers and tuples), or declares sizes that run past the file: data a loader with custom ext hooks may interpret as it likes.",
		Remediation: "Re-save the checkpoint with flax.serialization.to_bytes, or convert it to safetensors."},
	{ID: SymlinkOutside, Title: "Symbolic link points outside the scanned folder", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "A file or folder in the scanned folder is a symbolic link to a place outside it (and outside the Hugging Face cache repository, DVC cache or git-annex store of the same project that it belongs to). Violet does not follow it, so the scan is incomplete (exit 2): a loader that follows it reads whatever is there.",
		Remediation: "Scan the place the link points to as well (violet scan FOLDER TARGET), or replace the link with the file it should be."},
	{ID: ContentNotFetched, Title: "A placeholder stands where the content should be", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The file is a Git LFS pointer, a git-annex link or pointer whose content was never got, or an output of a DVC .dvc file that was never pulled. The bytes a loader will read later are not here, so Violet could not scan them (exit 2). A CI checkout without LFS content is the usual cause: the scan would otherwise pass a model it never saw.",
		Remediation: "Fetch the content before the scan: git lfs pull (actions/checkout with lfs: true), git annex get, or dvc pull."},
	{ID: ScanConfigIgnored, Title: "A Violet configuration inside a scanned target was ignored", Severity: Medium,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "A scanned folder holds a .violet.yaml. Violet never reads configuration from what it scans: the publisher of a model must not be able to allow its own globals, ignore its own files or lower severities. The file was ignored; its presence in a downloaded model is suspicious.",
		Remediation: "Put the settings you want in your project's .violet.yaml (in the folder you run Violet from, up to the top of its git work tree) or pass --config."},
	{ID: FormatNameMismatch, Title: "File name promises a safe format the content is not", Severity: Medium,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The file is named like a format that cannot run code (model.safetensors) but holds another format, often a pickle. Tools and people that trust the name load it with a loader that can run code.",
		Remediation: "Treat the file as the format it really is (see its other findings), and rename or re-export it."},
	{ID: FormatUnrecognized, Title: "File is named as a model but no format reads it", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The file's name says it is a model (.pt, .pth, .bin, .ckpt, .safetensors, .gguf, .onnx, .h5, .keras, .joblib, .pkl, .npy...) but none of Violet's analyzers recognizes its content: random or encrypted bytes, a header that no format accepts, a format Violet does not read. A loader chosen by the name may still read it in its own way, so the file is not passed: the scan exits 2.",
		Remediation: "Check where the file comes from and what it is. If it is a model in a format Violet does not read, exclude it with --ignore after review; if it should be one of the formats above, it is damaged or disguised: do not load it."},
	{ID: FormatMalformed, Title: "File is malformed and could not be fully analyzed", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The file claims a format (a NumPy header, a PyTorch legacy checkpoint, a joblib file) but breaks it, so Violet could not analyze all of it. A file that cannot be analyzed is never reported as clean.",
		Remediation: "Re-download the file from its source. If it is still malformed, do not load it."},
	{ID: ConfigTargetDangerous, Title: "Configuration makes the framework call a dangerous function", Severity: Critical,
		ATLAS:       atlas(dangerousPickleATLAS, atlasScripting),
		Description: "A Hydra or OmegaConf `_target_` in a configuration (NeMo's model_config.yaml in a .nemo archive, a model repository's config.json, a training config, a safetensors file's __metadata__, or a dict that a pickled checkpoint stores, such as Lightning's hyper_parameters, plain or as an omegaconf DictConfig) names a function or class that the pickle policy denies: code execution, processes, files, network, nested deserialization. hydra.utils.instantiate imports it and calls it with the rest of the mapping as arguments when the model is built.",
		Remediation: pickleFix},
	{ID: ConfigTargetUnknown, Title: "Configuration makes the framework call an unknown function", Severity: High,
		ATLAS:       dangerousPickleATLAS,
		Description: "A Hydra or OmegaConf `_target_` names a function, or a class outside the libraries Violet knows, that the allowlist does not name. Instantiating the configuration calls it with the configuration's values.",
		Remediation: "Read what the target does before you build the model from this configuration; if it is your own class, allow it with --allow module.name."},
	{ID: ArchivePathEscape, Title: "Archive member would be written outside the extraction folder", Severity: High,
		ATLAS:       []string{atlasSupplyChainModel, atlasUnsafeArtifacts},
		Description: "A tar, zip or 7z member's name is an absolute path, a drive or UNC path, or climbs out with '..', or a symbolic or hard link points outside the archive's folder. Loaders that unpack a model archive with extractall (tarfile before Python 3.14's data filter, zipfile-based tools, unzip, the ONNX model hub's tar download) then write or link files anywhere the user can: a .bashrc, a cron entry, a site-packages module that runs at the next import.",
		Remediation: "Do not extract the archive. Re-create it with relative member names and no links, or get the model from its original publisher."},
	{ID: ArchiveZipAnomaly, Title: "Zip archive headers disagree", Severity: Medium,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "The local headers and the central directory of the zip disagree (names, flags, sizes, CRCs), or entries hide outside the central directory. Loaders such as PyTorch tolerate what Python's zipfile rejects, and attackers use that gap to hide pickles from scanners. Violet scanned every member it could find either way.",
		Remediation: "Re-create the archive with a standard tool; do not load one whose headers were tampered with."},
	{ID: ArchiveEncrypted, Title: "Archive member is encrypted", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "A member of the archive is encrypted, so its content could not be analyzed.",
		Remediation: "Decrypt the archive and scan its content before you load it."},
	{ID: ArchiveUnreadable, Title: "Archive could not be read", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDefenseEvasion},
		Description: "A container (zip, tar, gzip, bzip2, xz, 7z) is corrupt or uses a method Violet does not read, so some of its content was not analyzed.",
		Remediation: "Re-create or re-download the archive, or unpack it and scan the folder."},
	{ID: LimitDepth, Title: "Containers nested too deep", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDenialOfService},
		Description: "Archives inside archives go deeper than the nesting limit; the deeper members were not analyzed.",
		Remediation: "Unpack the outer layers and scan the result, or raise limits.max_depth for a file you trust."},
	{ID: LimitSize, Title: "Decompressed size exceeds the limit", Severity: High, Incomplete: true,
		ATLAS:       []string{atlasDenialOfService},
		Description: "The content of an input decompresses to more bytes than the limit; the rest was not analyzed. Decompression bombs exhaust the disk or memory of whatever loads them.",
		Remediation: "Do not load the file. If it is a genuine large model, raise limits.max_total_bytes."},
	{ID: LimitRatio, Title: "Compression ratio exceeds the limit", Severity: High, Incomplete: true,
		ATLAS:       []string{atlasDenialOfService},
		Description: "A compressed member expands far more than real data does: the signature of a decompression bomb. The rest was not analyzed.",
		Remediation: "Do not load the file. If you trust it, raise limits.max_ratio."},
	{ID: LimitMembers, Title: "Too many archive members", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDenialOfService},
		Description: "The archive holds more members than the limit; the remaining members were not analyzed.",
		Remediation: "Unpack the archive and scan the folder, or raise limits.max_members for a file you trust."},
	{ID: LimitTime, Title: "Analysis ran out of time", Severity: Medium, Incomplete: true,
		ATLAS:       []string{atlasDenialOfService},
		Description: "The per-input time budget ran out before the analysis ended; the rest was not analyzed.",
		Remediation: "Raise --timeout for a large file you trust; a small file that takes this long is hostile."},
	{ID: ScanError, Title: "Input could not be read", Severity: Medium, Incomplete: true,
		Description: "Violet could not read the input (permissions, an I/O error, a broken link).",
		Remediation: "Fix the path or the permissions and scan again."},
	{ID: HDF5ExternalData, Title: "HDF5 file makes the loader read other files", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel, atlasExfilCyber},
		Description: "A dataset or a link of the HDF5 file (a Keras .h5 or .weights.h5, or the model.weights.h5 of a .keras archive) names another file of the host: external storage (an External Data Files message: the dataset's bytes are read from /etc/passwd or any path), an external link (to an object of another HDF5 file), or a virtual dataset whose sources are other files. h5py follows all three when Keras loads the weights, safe_mode or not, and the host file's content becomes the model's weights, which the model then returns or saves (CVE-2026-1669). The finding names each file.",
		Remediation: "Do not load the file. A Keras weights file keeps its data inside itself: get the model again from its publisher, or re-save it from a trusted copy; update Keras to 3.12.1 or 3.13.2 or later, which refuses these datasets and links."},
	{ID: PyTorchMemorySafety, Title: "PyTorch checkpoint storages reach past their data", Severity: High,
		ATLAS:       []string{atlasUnsafeArtifacts, atlasSupplyChainModel, atlasDenialOfService},
		Description: "A storage of the PyTorch zip checkpoint declares more elements than its record (data/<key>) holds bytes, or a tensor built on a storage (its offset, sizes and strides) reaches past the bytes of that record. torch.load before PyTorch 2.10.0, weights_only=True included, allocates the storage over the shorter record and reads and writes past it: memory corruption that can lead to code execution (CVE-2026-24747, GHSA-63cw-57p8-fm3p). torch.save always writes a record of the storage's exact size; views and shared storages stay within it.",
		Remediation: "Do not load the file, and update PyTorch to 2.10.0 or later. A checkpoint that torch.save wrote never has this: get the model again from its publisher, or ask for safetensors."},
}

var byID = func() map[string]*Rule {
	m := make(map[string]*Rule, len(catalogue))
	for i := range catalogue {
		m[catalogue[i].ID] = &catalogue[i]
	}
	return m
}()

// Lookup returns the catalogued rule with the given id.
func Lookup(id string) (Rule, bool) {
	r, ok := byID[id]
	if !ok {
		return Rule{}, false
	}
	return *r, true
}

// Rules returns the catalogue, sorted by id.
func Rules() []Rule {
	out := make([]Rule, len(catalogue))
	copy(out, catalogue)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
