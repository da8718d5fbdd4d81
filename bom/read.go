package bom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/violet-mlsecops/violet/sign"
)

// Limits of what Read reads.
const (
	// MaxFiles is how many files of a model folder are listed.
	MaxFiles = 100_000
	// maxText is the largest config, card or lockfile read.
	maxText = 16 << 20
)

// Read reads the model at path: a model folder, a Hugging Face cache
// snapshot (models--ORG--NAME/snapshots/REV, or the models--ORG--NAME
// folder itself, whose refs/main names the snapshot), or a single model
// file. Every file is hashed with SHA-256 (a snapshot's links are followed
// into the cache repository's blobs, never out of it); the configs, the
// model card, an adapter config, GGUF metadata and the dependency files
// beside the model fill in the rest.
func Read(ctx context.Context, p string) (*Model, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	m := &Model{}
	dir, boundary := abs, abs
	if info.IsDir() {
		if snap, ok := cacheSnapshot(abs); ok {
			dir = snap
		}
		if repo, org, name, rev, ok := cacheRepo(dir); ok {
			boundary = repo
			m.Group, m.Name, m.Version = org, name, rev
		}
	} else {
		dir, boundary = filepath.Dir(abs), filepath.Dir(abs)
	}
	if m.Name == "" {
		m.Name = filepath.Base(abs)
	}
	var files []string
	if info.IsDir() {
		if files, err = listFiles(dir, boundary); err != nil {
			return nil, err
		}
	} else {
		files = []string{filepath.Base(abs)}
	}
	if m.Files, err = hashFiles(ctx, dir, boundary, files); err != nil {
		return nil, err
	}
	r := reader{m: m, dir: dir, boundary: boundary}
	r.readConfig()
	r.readAdapter()
	r.readCard()
	r.readGGUF()
	r.readDependencies()
	r.finish()
	return m, nil
}

// cacheSnapshot returns the snapshot folder of a Hugging Face cache
// repository folder (models--ORG--NAME), the one refs/main names.
func cacheSnapshot(dir string) (string, bool) {
	if !strings.HasPrefix(filepath.Base(dir), "models--") {
		return "", false
	}
	ref, err := os.ReadFile(filepath.Join(dir, "refs", "main"))
	if err != nil {
		return "", false
	}
	rev := strings.TrimSpace(string(ref))
	if !commitRE.MatchString(rev) {
		return "", false
	}
	return filepath.Join(dir, "snapshots", rev), true
}

// commitRE is a full git commit id.
var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// cacheRepo recognizes a snapshot folder models--ORG--NAME/snapshots/REV
// and returns the repository folder, the hub id's parts and the revision.
func cacheRepo(dir string) (repo, org, name, rev string, ok bool) {
	snapshots := filepath.Dir(dir)
	repo = filepath.Dir(snapshots)
	base := filepath.Base(repo)
	if filepath.Base(snapshots) != "snapshots" || !strings.HasPrefix(base, "models--") {
		return "", "", "", "", false
	}
	id := strings.Split(strings.TrimPrefix(base, "models--"), "--")
	switch len(id) {
	case 1:
		name = id[0]
	case 2:
		org, name = id[0], id[1]
	default:
		return "", "", "", "", false
	}
	return repo, org, name, filepath.Base(dir), true
}

// skipDirs are folders that hold no part of a model.
var skipDirs = map[string]bool{".git": true, ".cache": true, "__pycache__": true, ".ipynb_checkpoints": true}

// listFiles lists the regular files under dir (links followed when their
// target stays inside boundary), relative, with forward slashes, sorted.
func listFiles(dir, boundary string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if _, ok := inside(p, boundary); !ok {
				return nil // a link out of the model: not part of it
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		if len(out) >= MaxFiles {
			return fmt.Errorf("%s holds more than %d files: not a model folder", dir, MaxFiles)
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(out)
	return out, err
}

// inside resolves p's links and reports whether the target is a regular
// file inside boundary.
func inside(p, boundary string) (string, bool) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	rb, err := filepath.EvalSymlinks(boundary)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(rb, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	info, err := os.Stat(real)
	return real, err == nil && info.Mode().IsRegular()
}

// hashFiles hashes the files in parallel and classifies them.
func hashFiles(ctx context.Context, dir, boundary string, names []string) ([]File, error) {
	out := make([]File, len(names))
	errs := make([]error, len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = hashFile(ctx, dir, boundary, names[i])
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errors.Join(errs...)
}

// hashFile hashes one file, with sign's hashing (large files mapped).
func hashFile(ctx context.Context, dir, boundary, name string) (File, error) {
	if err := ctx.Err(); err != nil {
		return File{}, err
	}
	real, ok := inside(filepath.Join(dir, filepath.FromSlash(name)), boundary)
	if !ok {
		return File{}, fmt.Errorf("%s: not a regular file inside the model", name)
	}
	digest, n, err := sign.FileSHA256(real)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", name, err)
	}
	return File{Path: name, Size: n, SHA256: digest, Kind: kindOf(name)}, nil
}

// weightExts are the extensions of weight files.
var weightExts = []string{".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".ggml", ".onnx", ".h5", ".hdf5",
	".keras", ".msgpack", ".tflite", ".pb", ".joblib", ".pkl", ".pickle", ".npz", ".npy", ".mlmodel", ".nemo", ".llamafile"}

// tokenizerNames are the files of tokenizers.
var tokenizerNames = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
	"vocab.txt", "merges.txt", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "added_tokens.json", "chat_template.jinja", "chat_template.json"}

// kindOf classifies a file by its name.
func kindOf(name string) string {
	base := strings.ToLower(path.Base(name))
	ext := path.Ext(base)
	switch {
	case slices.Contains(tokenizerNames, base):
		return KindTokenizer
	case slices.Contains(weightExts, ext):
		return KindWeights
	case base == "readme.md" || base == "model_card.md":
		return KindCard
	case strings.HasSuffix(base, "config.json") || base == "model.safetensors.index.json" || base == "pytorch_model.bin.index.json":
		return KindConfig
	case ext == ".py":
		return KindCode
	}
	return KindOther
}

// reader fills a Model from the model's files.
type reader struct {
	m             *Model
	dir, boundary string
}

// readText reads a file of the model, at most maxText bytes; missing is nil.
func (r *reader) readText(name string) []byte {
	real, ok := inside(filepath.Join(r.dir, filepath.FromSlash(name)), r.boundary)
	if !ok {
		return nil
	}
	f, err := os.Open(real)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, maxText))
	return data
}

// readJSON decodes a JSON file of the model into v; it reports whether
// the file was there and valid.
func (r *reader) readJSON(name string, v any) bool {
	data := r.readText(name)
	return data != nil && json.Unmarshal(data, v) == nil
}
