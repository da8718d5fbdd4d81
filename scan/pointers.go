package scan

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A checkout can hold placeholders where model files should be: Git LFS
// pointers (actions/checkout fetches no LFS content unless asked),
// git-annex links and pointers whose content was never got, and DVC
// .dvc files whose outputs were never pulled. A scan of placeholders
// would pass what it never saw: each is reported as CONTENT-NOT-FETCHED,
// which makes the scan incomplete (exit 2).

// pointerTools names the tool of each kind of placeholder and how to fetch
// its content.
var pointerTools = map[string]string{
	"Git LFS":   "git lfs pull; in GitHub Actions, actions/checkout with lfs: true; in GitLab CI, GIT_LFS_SKIP_SMUDGE unset",
	"git-annex": "git annex get",
	"DVC":       "dvc pull",
}

// maxPointer is the largest file read as a placeholder: LFS pointers are
// about 130 bytes and may carry extension lines; .dvc files are short.
const maxPointer = 64 << 10

// pointerTool returns the tool whose placeholder a file of size bytes
// starting with head is, or "".
func pointerTool(head []byte, size int64) string {
	switch {
	case size <= 1024 && bytes.HasPrefix(head, []byte("version https://git-lfs.github.com/spec/")):
		return "Git LFS"
	case size <= 1024 && bytes.HasPrefix(head, []byte("/annex/objects/")):
		return "git-annex"
	}
	return ""
}

// annexLink reports whether a symbolic link's text points into a git-annex
// object store.
func annexLink(text string) bool {
	return strings.Contains(filepath.ToSlash(text), ".git/annex/objects/")
}

var dvcPath = regexp.MustCompile(`(?m)^\s*(?:-\s+)?path:\s*["']?([^"'\r\n]+?)["']?\s*$`)

// dvcMissing returns the outputs that the .dvc file at path declares and
// that are not beside it: content never pulled. Outputs that would leave
// the .dvc file's folder are not looked at.
func dvcMissing(path string) []string {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPointer))
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range dvcPath.FindAllSubmatch(data, 32) {
		rel := filepath.FromSlash(string(m[1]))
		if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(filepath.Clean(rel), ".."+string(filepath.Separator)) {
			continue
		}
		out = append(out, filepath.Join(filepath.Dir(path), rel))
	}
	var missing []string
	for _, p := range out {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			missing = append(missing, p)
		}
	}
	return missing
}
