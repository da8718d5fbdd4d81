package deps

// uv.lock: [[package]] tables with name, version, source (registry, git,
// url, path, directory, editable or virtual), sdist and wheels with
// hashes. The project's own packages (virtual, editable) are skipped.

type uvLock struct {
	Package []uvPackage `toml:"package"`
}

type uvPackage struct {
	Name    string `toml:"name"`
	Version string `toml:"version"`
	Source  struct {
		Registry  string `toml:"registry"`
		Git       string `toml:"git"`
		URL       string `toml:"url"`
		Path      string `toml:"path"`
		Directory string `toml:"directory"`
		Editable  string `toml:"editable"`
		Virtual   string `toml:"virtual"`
	} `toml:"source"`
	Sdist  *uvFile  `toml:"sdist"`
	Wheels []uvFile `toml:"wheels"`
}

type uvFile struct {
	Hash string `toml:"hash"`
}

func parseUVLock(st *parseState, file string, data []byte) error {
	var lock uvLock
	if err := decodeTOML(file, data, &lock); err != nil {
		return err
	}
	lines := packageLines(data, "package", len(lock.Package))
	for i, lp := range lock.Package {
		s := lp.Source
		if s.Virtual != "" || s.Editable != "" {
			continue
		}
		p := Package{Name: lp.Name, Version: lp.Version, Source: SourceIndex, File: file, Line: lines[i]}
		// The source is the first of these set; none: the default index.
		for _, c := range []struct{ url, source string }{
			{s.Registry, SourceIndex},
			{s.Git, SourceVCS},
			{s.URL, SourceURL},
			{s.Path, SourcePath},
			{s.Directory, SourcePath},
		} {
			if c.url != "" {
				p.Source, p.URL = c.source, c.url
				break
			}
		}
		if lp.Sdist != nil {
			p.Hashes = appendHash(p.Hashes, lp.Sdist.Hash)
		}
		for _, w := range lp.Wheels {
			p.Hashes = appendHash(p.Hashes, w.Hash)
		}
		if err := st.lockPackage(p); err != nil {
			return err
		}
	}
	return nil
}
