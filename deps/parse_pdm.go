package deps

// pdm.lock: [[package]] tables with name, version, marker, files (with
// hashes; in [metadata.files] before lock version 4), and git, url or
// path for packages not from an index.

type pdmLock struct {
	Package  []pdmPackage `toml:"package"`
	Metadata struct {
		// Files are the hashes of older lock files, by "name version".
		Files map[string][]pdmFile `toml:"files"`
	} `toml:"metadata"`
}

type pdmPackage struct {
	Name     string    `toml:"name"`
	Version  string    `toml:"version"`
	Marker   string    `toml:"marker"`
	Files    []pdmFile `toml:"files"`
	Git      string    `toml:"git"`
	Hg       string    `toml:"hg"`
	Svn      string    `toml:"svn"`
	Bzr      string    `toml:"bzr"`
	Revision string    `toml:"revision"`
	URL      string    `toml:"url"`
	Path     string    `toml:"path"`
}

type pdmFile struct {
	Hash string `toml:"hash"`
}

func parsePDMLock(st *parseState, file string, data []byte) error {
	var lock pdmLock
	if err := decodeTOML(file, data, &lock); err != nil {
		return err
	}
	lines := packageLines(data, "package", len(lock.Package))
	for i, lp := range lock.Package {
		p := Package{
			Name: lp.Name, Version: lp.Version, Markers: lp.Marker,
			Source: SourceIndex, File: file, Line: lines[i],
		}
		for _, c := range []struct{ url, source string }{
			{lp.Git, SourceVCS},
			{lp.Hg, SourceVCS},
			{lp.Svn, SourceVCS},
			{lp.Bzr, SourceVCS},
			{lp.URL, SourceURL},
			{lp.Path, SourcePath},
		} {
			if c.url != "" {
				p.Source, p.URL = c.source, c.url
				break
			}
		}
		if p.Source == SourceVCS && lp.Revision != "" {
			p.URL += "@" + lp.Revision
		}
		files := lp.Files
		if len(files) == 0 {
			files = lock.Metadata.Files[lp.Name+" "+lp.Version]
		}
		for _, f := range files {
			p.Hashes = appendHash(p.Hashes, f.Hash)
		}
		if err := st.lockPackage(p); err != nil {
			return err
		}
	}
	return nil
}
