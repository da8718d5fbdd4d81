package discover

import (
	"encoding/json"
	"path"
	"sort"
	"strings"
)

// cacheRepoPrefixes are the folder name prefixes of a Hugging Face hub
// cache repository, with the repository type.
var cacheRepoPrefixes = []struct{ prefix, typ string }{
	{"models--", "model"}, {"datasets--", "dataset"}, {"spaces--", "space"},
}

func isCacheRepo(base string) bool {
	_, _, ok := cacheRepoOf(base)
	return ok
}

// cacheRepoOf returns the hub id and type of a cache folder name
// ("models--meta-llama--Llama-3.1-8B" -> "meta-llama/Llama-3.1-8B").
func cacheRepoOf(base string) (id, typ string, ok bool) {
	for _, p := range cacheRepoPrefixes {
		if rest, found := strings.CutPrefix(base, p.prefix); found && rest != "" {
			return strings.Replace(rest, "--", "/", 1), p.typ, true
		}
	}
	return "", "", false
}

// cacheLoc is where a file sits in a hub cache.
type cacheLoc struct {
	repoDir  string // the models--ORG--NAME folder
	snapshot string // repoDir/snapshots/REV
	inner    string // the file's path in the snapshot
	hubID    string
	typ      string
	rev      string
}

// parseCachePath recognizes .../models--ORG--NAME/snapshots/REV/FILE.
func parseCachePath(rel string) (cacheLoc, bool) {
	parts := strings.Split(rel, "/")
	for k := 0; k+3 < len(parts); k++ {
		id, typ, ok := cacheRepoOf(parts[k])
		if !ok || parts[k+1] != "snapshots" {
			continue
		}
		repo := strings.Join(parts[:k+1], "/")
		return cacheLoc{repoDir: repo, snapshot: repo + "/snapshots/" + parts[k+2], inner: strings.Join(parts[k+3:], "/"),
			hubID: id, typ: typ, rev: parts[k+2]}, true
	}
	return cacheLoc{}, false
}

// folderRule recognizes a model folder by a marker file it holds.
type folderRule struct {
	marker       string // a file name the folder holds
	typ          string // the folder's type
	needsWeights bool   // the folder must also hold weights
	recursive    bool   // the folder's subfolders are part of the model
}

// folderRules are tried in order; the first that matches names the type.
var folderRules = []folderRule{
	{"saved_model.pb", "saved-model", false, true},
	{"adapter_config.json", "peft-adapter", false, false},
	{"config.json", "huggingface", true, false},
}

// weightExts are the extensions of weight files next to a config.json.
var weightExts = map[string]bool{
	".safetensors": true, ".bin": true, ".gguf": true, ".pt": true, ".pth": true, ".h5": true, ".msgpack": true,
	".onnx": true, ".ckpt": true, ".keras": true, ".tflite": true, ".pdparams": true,
}

// folderConfig is what discovery reads from config.json and
// adapter_config.json.
type folderConfig struct {
	Architectures []string `json:"architectures"`
	ModelType     string   `json:"model_type"`
	BaseModel     string   `json:"base_model_name_or_path"`
}

// readFolderConfig parses a model folder's configuration, if it is JSON.
func readFolderConfig(src []byte) folderConfig {
	var c folderConfig
	_ = json.Unmarshal(src, &c)
	return c
}

// assemble turns the files the walk saw into assets: cache snapshots and
// model folders first (their files are theirs), then the remaining model
// files, then the text assets.
func assemble(files []fileRec, texts []Asset) []Asset {
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	claimed := make([]bool, len(files))
	var out []Asset

	snapshots := map[string]*Asset{}
	for i, f := range files {
		loc, ok := parseCachePath(f.rel)
		if !ok {
			continue
		}
		a := snapshots[loc.snapshot]
		if a == nil {
			a = &Asset{Kind: KindHFCache, Path: loc.snapshot, HubID: loc.hubID, Revision: loc.rev, Type: loc.typ}
			snapshots[loc.snapshot] = a
		}
		addFile(a, loc.inner, f)
		claimed[i] = true
	}
	for _, a := range snapshots {
		out = append(out, *a)
	}

	byDir := map[string][]int{}
	for i, f := range files {
		if !claimed[i] {
			byDir[path.Dir(f.rel)] = append(byDir[path.Dir(f.rel)], i)
		}
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if a, ok := modelFolder(d, files, byDir[d], claimed); ok {
			out = append(out, a)
		}
	}
	for i, f := range files {
		if !claimed[i] && f.kind != "" {
			out = append(out, Asset{Kind: f.kind, Path: f.rel, Size: f.size, Formats: f.formats})
		}
	}
	return append(out, texts...)
}

// addFile adds a file to a folder asset.
func addFile(a *Asset, inner string, f fileRec) {
	a.Files = append(a.Files, File{Path: inner, Size: f.size, Formats: f.formats})
	a.Formats = sortedUnique(append(a.Formats, f.formats...))
	a.Size += f.size
	if f.config != nil {
		if len(f.config.Architectures) > 0 && a.Architecture == "" {
			a.Architecture = strings.Join(f.config.Architectures, ",")
		} else if f.config.ModelType != "" && a.Architecture == "" {
			a.Architecture = f.config.ModelType
		}
		if f.config.BaseModel != "" {
			a.BaseModel = f.config.BaseModel
		}
	}
}

// modelFolder applies the folder rules to the files directly in dir.
func modelFolder(dir string, files []fileRec, idx []int, claimed []bool) (Asset, bool) {
	names := map[string]bool{}
	weights := false
	for _, i := range idx {
		base := path.Base(files[i].rel)
		names[base] = true
		weights = weights || files[i].kind == KindModelFile || weightExts[strings.ToLower(path.Ext(base))]
	}
	for _, r := range folderRules {
		if !names[r.marker] || r.needsWeights && !weights {
			continue
		}
		a := Asset{Kind: KindModelFolder, Path: dir, Type: r.typ}
		prefix := dir + "/"
		if dir == "." {
			prefix = ""
		}
		members := idx
		if r.recursive {
			// files are sorted: those under dir are one run.
			members = nil
			for i := sort.Search(len(files), func(i int) bool { return files[i].rel >= prefix }); i < len(files) && strings.HasPrefix(files[i].rel, prefix); i++ {
				members = append(members, i)
			}
		}
		for _, i := range members {
			if !claimed[i] {
				addFile(&a, strings.TrimPrefix(files[i].rel, prefix), files[i])
				claimed[i] = true
			}
		}
		return a, true
	}
	return Asset{}, false
}
