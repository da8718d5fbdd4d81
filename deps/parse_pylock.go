package deps

// pylock.toml (PEP 751): [[packages]] tables with name, version, marker,
// index, and either vcs, archive, directory, or sdist and wheels, each
// file with a hashes table.

type pylock struct {
	LockVersion string          `toml:"lock-version"`
	Packages    []pylockPackage `toml:"packages"`
}

type pylockPackage struct {
	Name    string `toml:"name"`
	Version string `toml:"version"`
	Marker  string `toml:"marker"`
	Index   string `toml:"index"`
	VCS     *struct {
		URL      string `toml:"url"`
		Path     string `toml:"path"`
		CommitID string `toml:"commit-id"`
	} `toml:"vcs"`
	Directory *struct {
		Path string `toml:"path"`
	} `toml:"directory"`
	Archive *pylockFile  `toml:"archive"`
	Sdist   *pylockFile  `toml:"sdist"`
	Wheels  []pylockFile `toml:"wheels"`
}

type pylockFile struct {
	URL    string            `toml:"url"`
	Path   string            `toml:"path"`
	Hashes map[string]string `toml:"hashes"`
}

func parsePylock(st *parseState, file string, data []byte) error {
	var lock pylock
	if err := decodeTOML(file, data, &lock); err != nil {
		return err
	}
	if lock.LockVersion == "" {
		return &ParseError{File: file, Msg: "no lock-version: not a PEP 751 lock file"}
	}
	lines := packageLines(data, "packages", len(lock.Packages))
	for i, lp := range lock.Packages {
		p := Package{
			Name: lp.Name, Version: lp.Version, Markers: lp.Marker,
			Source: SourceIndex, URL: lp.Index, File: file, Line: lines[i],
		}
		switch {
		case lp.VCS != nil:
			p.Source, p.URL = SourceVCS, lp.VCS.URL
			if p.URL == "" {
				p.URL = lp.VCS.Path
			}
			if lp.VCS.CommitID != "" {
				p.URL += "@" + lp.VCS.CommitID
			}
		case lp.Directory != nil:
			p.Source, p.URL = SourcePath, lp.Directory.Path
		case lp.Archive != nil:
			p.Source, p.URL = SourceURL, lp.Archive.URL
			if p.URL == "" {
				p.Source, p.URL = SourcePath, lp.Archive.Path
			}
			p.Hashes = hashList(lp.Archive.Hashes)
		}
		if lp.Sdist != nil {
			for _, h := range hashList(lp.Sdist.Hashes) {
				p.Hashes = appendHash(p.Hashes, h)
			}
		}
		for _, w := range lp.Wheels {
			for _, h := range hashList(w.Hashes) {
				p.Hashes = appendHash(p.Hashes, h)
			}
		}
		if err := st.lockPackage(p); err != nil {
			return err
		}
	}
	return nil
}
