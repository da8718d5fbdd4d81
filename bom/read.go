package bom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/violet-mlsecops/violet/internal/walk"
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
	var files []walk.Entry
	if info.IsDir() {
		if files, m.Unread, err = listFiles(dir); err != nil {
			return nil, err
		}
	} else if files, err = singleFile(abs); err != nil {
		return nil, err
	}
	if m.Files, err = hashFiles(ctx, files, &m.Unread); err != nil {
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

// listFiles lists the regular files under dir by the link rules of
// package internal/walk (the same for every verb: links followed into the
// folder, the Hugging Face cache repository holding it, or a content store
// of the project), sorted. A link out of the folder, or a file or folder
// that cannot be read, is returned in unread: the BOM cannot list it.
func listFiles(dir string) ([]walk.Entry, []Unread, error) {
	var out []walk.Entry
	var unread []Unread
	opts := walk.Options{SkipDir: func(_, name string) bool { return skipDirs[name] }}
	err := walk.Walk(dir, opts, func(e walk.Entry) error {
		switch e.Kind {
		case walk.File:
			if len(out) >= MaxFiles {
				return fmt.Errorf("%s holds more than %d files: not a model folder", dir, MaxFiles)
			}
			out = append(out, e)
		case walk.LinkOutside:
			unread = append(unread, Unread{Path: e.Rel, Reason: "a symbolic link to " + e.Target + ", outside the model folder: not read (replace the link with the file, or make the BOM of that place)"})
		case walk.Unreadable:
			unread = append(unread, Unread{Path: e.Rel, Reason: "cannot be read: " + e.Err.Error()})
		}
		return nil
	})
	return out, unread, err
}

// singleFile is the walk entry of a model given as one file: its folder
// is the folder it is opened in.
func singleFile(abs string) ([]walk.Entry, error) {
	var out []walk.Entry
	err := walk.Walk(filepath.Dir(abs), walk.Options{
		SkipDir: func(string, string) bool { return true },
		Skip:    func(rel, _ string) bool { return rel != filepath.Base(abs) },
	}, func(e walk.Entry) error {
		if e.Kind != walk.File {
			return fmt.Errorf("%s: not a regular file (%s)", abs, e.Kind)
		}
		out = append(out, e)
		return nil
	})
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

// hashFiles hashes the files in parallel and classifies them. A file that
// cannot be opened or read is added to unread, not listed.
func hashFiles(ctx context.Context, files []walk.Entry, unread *[]Unread) ([]File, error) {
	out := make([]File, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = hashFile(ctx, files[i])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var kept []File
	for i, f := range out {
		if errs[i] != nil {
			*unread = append(*unread, Unread{Path: files[i].Rel, Reason: "cannot be read: " + errs[i].Error()})
			continue
		}
		kept = append(kept, f)
	}
	return kept, nil
}

// hashFile hashes one file, opened inside the folder the walk allowed it in.
func hashFile(ctx context.Context, e walk.Entry) (File, error) {
	if err := ctx.Err(); err != nil {
		return File{}, err
	}
	f, _, err := e.Open()
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, err
	}
	return File{Path: e.Rel, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Kind: kindOf(e.Rel)}, nil
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
