// Package discover finds the machine learning in a code base: model files
// and folders, Hugging Face cache snapshots, notebooks that import ML
// libraries, Python dependency files that pull them, and references to hub
// and provider models in code and configuration, each with its owners
// (CODEOWNERS and recent git committers).
//
// Discovery is an inventory, not a verdict: it reads file heads and bounded
// text, never loads or executes anything, and never follows a symbolic link
// out of the scanned tree.
package discover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"
)

// SchemaVersion is the version of the JSON document Result encodes to.
const SchemaVersion = "1"

// Kind is what an asset is.
type Kind string

// The kinds of asset, in the order reports list them.
const (
	KindModelFile   Kind = "model-file"      // a file whose content is a model format
	KindArchive     Kind = "archive"         // an archive or compressed file whose name or members say it holds a model
	KindModelFolder Kind = "model-folder"    // a folder that loads as one model (Hugging Face, SavedModel, PEFT adapter)
	KindHFCache     Kind = "hf-cache"        // a snapshot in a Hugging Face hub cache
	KindNotebook    Kind = "notebook"        // a Jupyter notebook that imports ML libraries
	KindDependency  Kind = "dependency-file" // a Python dependency file that pulls ML libraries
	KindReference   Kind = "model-reference" // a code or config file that names hub or provider models
)

// Kinds lists every kind, in report order.
var Kinds = []Kind{KindModelFile, KindArchive, KindModelFolder, KindHFCache, KindNotebook, KindDependency, KindReference}

// Asset is one ML thing found in the tree.
type Asset struct {
	// Kind says what the asset is.
	Kind Kind `json:"kind"`
	// Path is the asset's path relative to the scanned root, with slashes
	// ("." for the root itself).
	Path string `json:"path"`
	// Size is the file's size in bytes (model files and archives).
	Size int64 `json:"size,omitempty"`
	// Formats are the formats recognized by content (the scanner's analyzer
	// names: "safetensors", "gguf", "pickle", "zip"...).
	Formats []string `json:"formats,omitempty"`
	// Type refines the kind: the folder layout ("huggingface", "saved-model",
	// "peft-adapter"), or the dependency file's format ("requirements").
	Type string `json:"type,omitempty"`
	// Architecture is what a model folder's config.json declares
	// (architectures, else model_type).
	Architecture string `json:"architecture,omitempty"`
	// BaseModel is the model a PEFT adapter was trained on.
	BaseModel string `json:"base_model,omitempty"`
	// HubID is the Hugging Face repository of a cache snapshot ("org/name").
	HubID string `json:"hub_id,omitempty"`
	// Revision is the snapshot's commit.
	Revision string `json:"revision,omitempty"`
	// Files are the files of a folder or snapshot, relative to Path.
	Files []File `json:"files,omitempty"`
	// Libraries are the ML libraries a notebook imports or installs.
	Libraries []string `json:"libraries,omitempty"`
	// Packages are the ML packages of a dependency file.
	Packages []Package `json:"packages,omitempty"`
	// References are the models a file names.
	References []Reference `json:"references,omitempty"`
	// Owners are who owns the asset: CODEOWNERS entries, then the most
	// recent git committers.
	Owners []Owner `json:"owners,omitempty"`
}

// File is one file of a folder asset.
type File struct {
	// Path is relative to the folder.
	Path string `json:"path"`
	// Size is in bytes.
	Size int64 `json:"size"`
	// Formats are the formats recognized by content, if any.
	Formats []string `json:"formats,omitempty"`
}

// Package is one ML package a dependency file pulls.
type Package struct {
	// Name is the normalized (PEP 503) package name.
	Name string `json:"name"`
	// Spec is the version specifier as written ("==2.1.0", ">=4.40"), or
	// the locked version; empty when unpinned.
	Spec string `json:"spec,omitempty"`
	// Category is what the package is for ("framework", "fine-tuning",
	// "serving", "llm-client"...).
	Category string `json:"category"`
	// Line is the 1-based line where the package is named, when known.
	Line int `json:"line,omitempty"`
}

// Reference is one mention of a model in code or configuration.
type Reference struct {
	// Line is the 1-based line of the file (of the cell, in a notebook).
	Line int `json:"line"`
	// Cell is the 1-based cell of a notebook; 0 elsewhere.
	Cell int `json:"cell,omitempty"`
	// Model is the model id ("meta-llama/Llama-3.1-8B", "gpt-4o", "./out").
	Model string `json:"model"`
	// Provider is where the model comes from: huggingface, openai,
	// anthropic, google, mistral, cohere, ollama, or local (a path).
	Provider string `json:"provider"`
	// Via is the call or key that names it ("from_pretrained", "base_model").
	Via string `json:"via"`
	// Role is "load", or "push" for a destination (push_to_hub, hub_model_id).
	Role string `json:"role"`
}

// Owner is someone who owns an asset.
type Owner struct {
	// Name is a CODEOWNERS owner (@user, @org/team, an email) or a git
	// author ("Name <email>").
	Name string `json:"name"`
	// Source is "codeowners" or "git".
	Source string `json:"source"`
}

// Stats count what the walk saw.
type Stats struct {
	// Files is the number of regular files looked at.
	Files int `json:"files"`
	// Dirs is the number of folders walked.
	Dirs int `json:"dirs"`
	// SkippedDirs counts folders left out (.git, node_modules, virtual
	// environments, caches).
	SkippedDirs int `json:"skipped_dirs"`
	// SkippedSymlinks counts symbolic links not followed.
	SkippedSymlinks int `json:"skipped_symlinks"`
	// Unreadable counts files and folders that could not be read.
	Unreadable int `json:"unreadable"`
}

// ReadError is a file or folder under the root that could not be read.
type ReadError struct {
	// Path is relative to the root, with slashes ("." for the root).
	Path string `json:"path"`
	// Error says why ("permission denied").
	Error string `json:"error"`
}

// maxReadErrors bounds the unreadable paths a result lists; Stats counts
// them all.
const maxReadErrors = 1000

// Result is what Discover found.
type Result struct {
	// SchemaVersion is the JSON document's version.
	SchemaVersion string `json:"schema_version"`
	// Root is the scanned path as given.
	Root string `json:"root"`
	// Assets are sorted by kind (in Kinds order), then path.
	Assets []Asset `json:"assets"`
	// Summary counts the assets by kind.
	Summary map[Kind]int `json:"summary"`
	// Stats count what the walk saw.
	Stats Stats `json:"stats"`
	// Unreadable lists files and folders under the root that could not be
	// read (at most 1,000, sorted): the inventory is incomplete.
	Unreadable []ReadError `json:"unreadable,omitempty"`
	// Git says whether owners include git history.
	Git bool `json:"git"`
	// GitNote says why git history was not read, or read only in part
	// (a .git file or alternates not followed, a bound reached).
	GitNote string `json:"git_note,omitempty"`
	// Duration is how long discovery took, in seconds.
	Duration float64 `json:"duration_seconds"`
}

// Options tune Discover. The zero value is usable.
type Options struct {
	// Workers is how many folders are read in parallel (default: twice the
	// number of cores, since the walk waits on the file system).
	Workers int
	// MaxTextSize is the largest code or config file scanned for
	// references and dependencies (default 2 MiB).
	MaxTextSize int64
	// NoGit leaves git history out of the owners.
	NoGit bool
	// GitCommits is how many recent commits the history covers (default 1000).
	GitCommits int
	// MaxOwners is how many git committers an asset lists (default 3).
	MaxOwners int
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if o.MaxTextSize <= 0 {
		o.MaxTextSize = 2 << 20
	}
	if o.GitCommits <= 0 {
		o.GitCommits = 1000
	}
	if o.MaxOwners <= 0 {
		o.MaxOwners = 3
	}
}

// ErrRoot is wrapped by the error Discover returns when the root cannot be
// read.
var ErrRoot = errors.New("cannot read the path to discover")

// Discover walks root (a folder or a single file) and returns the ML assets
// in it. It fails only when root itself cannot be read; unreadable files
// inside are counted in Stats.
func Discover(ctx context.Context, root string, opts Options) (*Result, error) {
	start := time.Now()
	opts.defaults()
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRoot, err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRoot, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRoot, err)
	}
	w := newWalker(ctx, real, info.IsDir(), opts)
	if err := w.run(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	assets := assemble(w.files, w.texts)
	if !info.IsDir() {
		for i := range assets {
			assets[i].Path = filepath.Base(real)
		}
	}
	res := &Result{SchemaVersion: SchemaVersion, Root: root, Assets: assets, Stats: w.stats, Summary: map[Kind]int{}}
	sort.Slice(w.unreadable, func(i, j int) bool { return w.unreadable[i].Path < w.unreadable[j].Path })
	res.Unreadable = w.unreadable[:min(len(w.unreadable), maxReadErrors)]
	res.Git, res.GitNote = assignOwners(ctx, real, info.IsDir(), res.Assets, opts)
	sortAssets(res.Assets)
	for _, a := range res.Assets {
		res.Summary[a.Kind]++
	}
	res.Duration = time.Since(start).Seconds()
	return res, nil
}

// sortAssets orders assets by kind, then path.
func sortAssets(assets []Asset) {
	rank := map[Kind]int{}
	for i, k := range Kinds {
		rank[k] = i
	}
	sort.SliceStable(assets, func(i, j int) bool {
		if a, b := rank[assets[i].Kind], rank[assets[j].Kind]; a != b {
			return a < b
		}
		return assets[i].Path < assets[j].Path
	})
}
