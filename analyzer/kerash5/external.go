package kerash5

import (
	"context"
	"fmt"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
	"github.com/violet-mlsecops/violet/internal/hdf5"
)

// Class names a way for an HDF5 file to make the HDF5 library read another
// file of the host. Each class has one entry in Advisories.
type Class = string

// The classes of external data.
const (
	// ClassExternalStorage: a dataset whose raw data is in external files
	// (an External Data Files message).
	ClassExternalStorage Class = "external-storage"
	// ClassExternalLink: a link to an object of another HDF5 file.
	ClassExternalLink Class = "external-link"
	// ClassVirtualDataset: a virtual dataset mapped from datasets of other
	// files.
	ClassVirtualDataset Class = "virtual-dataset"
)

// Advisory documents one class: the loader, the advisory and its source.
// The table is data: the findings quote it and docs/threats.md names it.
type Advisory = analyzer.Advisory

const (
	cve20261669 = "CVE-2026-1669 (GHSA-3m4q-jmj6-r34q)"
	ghsa        = "https://github.com/keras-team/keras/security/advisories/GHSA-3m4q-jmj6-r34q"
	kerasLoader = "Keras weight loading through h5py (load_model, load_weights, safe_mode or not; Keras 3.0.0 to 3.12.0 and 3.13.0 to 3.13.1)"
)

// Advisories lists, for each class, the loader and the advisory.
var Advisories = []Advisory{
	{Class: ClassExternalStorage, Loader: kerasLoader, ID: cve20261669,
		Summary: "the HDF5 library reads the dataset's bytes from the named host file, and they become the model's weights", URL: ghsa},
	{Class: ClassExternalLink, Loader: kerasLoader, ID: cve20261669,
		Summary: "h5py follows the link into the named HDF5 file, whose datasets become the model's weights", URL: ghsa},
	{Class: ClassVirtualDataset, Loader: kerasLoader, ID: cve20261669,
		Summary: "the HDF5 library reads the dataset's elements from the source files, and they become the model's weights", URL: ghsa},
}

// MaxExternal is how many external data findings one file reports one by
// one; one more finding counts the rest.
const MaxExternal = 100

// Bounds of one finding: how many file names its evidence lists, and how
// many bytes of a name it quotes.
const (
	maxNames   = 10
	maxNameLen = 256
)

// externalRef is one object of the file that names other files.
type externalRef struct {
	class  Class
	detail string   // what the object declares, for the message
	files  []string // the distinct file names, at most maxNames, for the evidence
	more   int      // how many more distinct names there are
}

// checkExternal walks every object of f that hard links reach (within the
// reader's limits) and reports those that make the HDF5 library read other
// files: datasets with external storage or virtual sources in other files,
// and external links. Soft links stay inside the file and are not
// reported; a virtual dataset whose sources are all in the file itself
// ("."), neither. A part of the file that cannot be read is a
// FORMAT-MALFORMED finding. The error is the context's.
func checkExternal(ctx context.Context, rep analyzer.Reporter, f *hdf5.File) error {
	var refs []externalRef
	more := 0
	err := f.Walk(func(o *hdf5.Object, _ int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return externalOf(o, func(r externalRef) {
			if len(refs) < MaxExternal {
				refs = append(refs, r)
			} else {
				more++
			}
		})
	})
	for _, r := range refs {
		msg := analyzer.HazardMessage(Advisories, kerasLoader, r.class, r.detail) + "."
		ev := strings.Join(r.files, ", ")
		if r.more > 0 {
			ev += fmt.Sprintf(" and %d more", r.more)
		}
		rep.Report(finding.HDF5ExternalData, -1, msg, ev)
	}
	if more > 0 {
		rep.Report(finding.HDF5ExternalData, -1, fmt.Sprintf("%d more objects that read other files.", more), "")
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rep.Report(finding.FormatMalformed, -1, "The objects of the HDF5 file could not all be read: "+err.Error()+".", "")
	}
	return nil
}

// externalOf calls add for each thing object o names outside the file.
func externalOf(o *hdf5.Object, add func(externalRef)) error {
	links, err := o.Children()
	if err != nil {
		return err
	}
	for _, l := range links {
		if !l.External {
			continue
		}
		file, obj := l.ExternalTarget()
		add(newRef(ClassExternalLink, fmt.Sprintf("Link %q is an external link to object %q of the file %q",
			short(join(o.Path, l.Name)), short(obj), short(file)), nil, []string{file}))
	}
	efl, err := o.ExternalFiles()
	if err != nil {
		return err
	}
	if len(efl) > 0 {
		var files, parts []string
		for _, e := range efl {
			files = append(files, e.Name)
			size := fmt.Sprintf("%d bytes", e.Size)
			if e.Size == ^uint64(0) {
				size = "to its end"
			}
			parts = append(parts, fmt.Sprintf("%q (from offset %d, %s)", short(e.Name), e.Offset, size))
		}
		add(newRef(ClassExternalStorage, fmt.Sprintf("Dataset %q keeps its data in external storage: ", short(o.Path)), parts, files))
	}
	srcs, err := o.VirtualSources()
	if err != nil {
		return err
	}
	var files, parts []string
	for _, s := range srcs {
		if s.File == "." { // the file itself
			continue
		}
		files = append(files, s.File)
		parts = append(parts, fmt.Sprintf("dataset %q of %q", short(s.Dataset), short(s.File)))
	}
	if len(files) > 0 {
		add(newRef(ClassVirtualDataset, fmt.Sprintf("Dataset %q is a virtual dataset that reads ", short(o.Path)), parts, files))
	}
	return nil
}

// newRef is the reference of class whose message is detail followed by at
// most maxNames of parts, and whose evidence is the distinct files, at most
// maxNames of them, each cut to maxNameLen bytes.
func newRef(class Class, detail string, parts, files []string) externalRef {
	if len(parts) > maxNames {
		detail += fmt.Sprintf("%s and %d more", strings.Join(parts[:maxNames], ", "), len(parts)-maxNames)
	} else {
		detail += strings.Join(parts, ", ")
	}
	r := externalRef{class: class, detail: detail}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f] {
			continue
		}
		seen[f] = true
		if len(r.files) == maxNames {
			r.more++
			continue
		}
		r.files = append(r.files, short(f))
	}
	return r
}

// join returns the path of the member name of the group at path.
func join(path, name string) string {
	if path == "/" {
		return "/" + name
	}
	return path + "/" + name
}

// short cuts s to maxNameLen bytes.
func short(s string) string {
	if len(s) > maxNameLen {
		return s[:maxNameLen] + "..."
	}
	return s
}
