// Package deps checks the Python packages around a model: it reads the
// requirement and lock files of a project (parse*.go), matches every
// package against vulnerability and malware records from OSV (osv*.go),
// and against the names of popular ML packages for typosquats
// (typosquat.go), and reports unpinned, unhashed, direct-URL and
// dependency-confusion risks (check.go).
package deps

import "strconv"

// Package is one requirement or locked package of a dependency file.
type Package struct {
	// Name is the package name as written; NormalizedName is its PEP 503
	// form (lower case, runs of -_. as one -).
	Name           string `json:"name"`
	NormalizedName string `json:"normalized_name"`
	// Version is the exact version when the file pins one (== or ===, or
	// any lockfile entry), else empty.
	Version string `json:"version,omitempty"`
	// Specifier is the version specifier as written (">=2.1,<3"), empty
	// for an exact pin or a lockfile.
	Specifier string `json:"specifier,omitempty"`
	// Markers are the environment markers ("python_version < '3.12'").
	Markers string `json:"markers,omitempty"`
	// Hashes are the hashes the file requires ("sha256:...").
	Hashes []string `json:"hashes,omitempty"`
	// Source is where the package comes from: SourceIndex, SourceURL,
	// SourceVCS or SourcePath.
	Source string `json:"source"`
	// URL is the direct URL, VCS URL or path of a non-index source, or
	// the index a lockfile records for the package.
	URL string `json:"url,omitempty"`
	// File and Line say where the package is declared (Line 0: unknown).
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// Ecosystem is EcosystemPyPI, or EcosystemConda for a conda package
	// of an environment file.
	Ecosystem string `json:"ecosystem"`
}

// Ecosystems of a package.
const (
	EcosystemPyPI  = "PyPI"
	EcosystemConda = "conda"
)

// Sources of a package.
const (
	SourceIndex = "index"
	SourceURL   = "url"
	SourceVCS   = "vcs"
	SourcePath  = "path"
)

// Manifest is one dependency file and what it declares.
type Manifest struct {
	// Path is the file's path.
	Path string `json:"path"`
	// Kind is the format: "requirements", "poetry.lock", "uv.lock",
	// "Pipfile.lock", "pdm.lock", "pylock.toml", "conda",
	// "pyproject.toml", "Pipfile", "setup.cfg", "setup.py".
	Kind string `json:"kind"`
	// Locked is true for lockfiles: every package is pinned by design.
	// Files that declare what to install (requirements, pyproject.toml,
	// Pipfile, setup.cfg, setup.py) are not locked.
	Locked bool `json:"locked"`
	// IndexURL is the primary index the file sets (--index-url, a
	// lockfile's default source), empty for PyPI's default.
	IndexURL string `json:"index_url,omitempty"`
	// ExtraIndexURLs are the extra indexes (--extra-index-url, secondary
	// sources): with them, pip takes a package from whichever index has
	// the highest version, the door to dependency confusion.
	ExtraIndexURLs []string `json:"extra_index_urls,omitempty"`
	// Packages are the packages, in file order.
	Packages []Package `json:"packages"`
	// Unread are the parts of the file that declare packages but could
	// not be read statically (a setup.py install_requires that is not a
	// literal list, dynamic pyproject dependencies): Check reports each
	// as DEPS-MALFORMED, since those packages go unchecked.
	Unread []ParseError `json:"unread,omitempty"`
}

// ParseError is a dependency file, or a folder that may hold some, that
// could not be read, with where.
type ParseError struct {
	// File is the path; Line the line (0 when unknown).
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	// Msg says what is wrong.
	Msg string `json:"message"`
}

// Error says where and what.
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
	}
	return e.File + ": " + e.Msg
}
