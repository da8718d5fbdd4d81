package report

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// placeholderVersions are the versions an unstamped build reports: the
// program's own default and what the go command records for a build
// without version control information.
var placeholderVersions = map[string]bool{"": true, "dev": true, "(devel)": true}

// toolVersion is the version a SARIF log names Violet by: v, unless v is a
// placeholder, which BuildVersion replaces.
func toolVersion(v string) string {
	if placeholderVersions[v] {
		return BuildVersion()
	}
	return v
}

// BuildVersion returns the version of the running program as its build
// recorded it, for a build not given one with -ldflags: the module version
// the go command stamped (a release tag, or a pseudo-version such as
// v0.0.0-20260115103000-0123456789ab+dirty made from the commit), else a
// pseudo-version made from the VCS revision it recorded, else, for a build
// without version control information (go test, go run with
// -buildvcs=false), v0.0.0-unstamped+ and the first 12 hex digits of the
// SHA-256 of the executable, which tells two such builds apart. It is never
// "dev", and always a Semantic Versioning 2.0.0 version after its "v".
func BuildVersion() string { return buildVersion() }

var buildVersion = sync.OnceValue(func() string {
	info, _ := debug.ReadBuildInfo() // nil when there is none
	return versionOf(info, unstampedVersion)
})

// versionOf returns the version info records (see BuildVersion), or
// unstamped() when it records none.
func versionOf(info *debug.BuildInfo, unstamped func() string) string {
	if info == nil {
		return unstamped()
	}
	if !placeholderVersions[info.Main.Version] {
		return info.Main.Version
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		if strings.HasPrefix(s.Key, "vcs.") {
			vcs[s.Key] = s.Value
		}
	}
	rev := vcs["vcs.revision"]
	if rev == "" {
		return unstamped()
	}
	v := "v0.0.0-"
	if t, err := time.Parse(time.RFC3339, vcs["vcs.time"]); err == nil {
		v += t.UTC().Format("20060102150405") + "-"
	}
	v += rev[:min(len(rev), 12)]
	if vcs["vcs.modified"] == "true" {
		v += "+dirty"
	}
	if !semver.MatchString(v[1:]) {
		return unstamped()
	}
	return v
}

// unstampedVersion names a build without version information by the hash
// of its executable.
func unstampedVersion() string {
	const v = "v0.0.0-unstamped"
	exe, err := os.Executable()
	if err != nil {
		return v
	}
	f, err := os.Open(exe)
	if err != nil {
		return v
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return v
	}
	return v + "+" + hex.EncodeToString(h.Sum(nil))[:12]
}
