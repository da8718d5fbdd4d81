package discover

import (
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Property names of the inventory BOM.
const (
	propKind     = "violet:kind"
	propPath     = "violet:path"
	propFormat   = "violet:format"
	propOwner    = "violet:owner"
	propProvider = "violet:provider"
	propRefIn    = "violet:referenced-in"
	propRole     = "violet:role"
	propSpec     = "violet:spec"
	propCategory = "violet:category"
	propDeclared = "violet:declared-in"
	propLibrary  = "violet:library"
	propType     = "violet:type"
	propArch     = "violet:architecture"
	propBase     = "violet:base-model"
	propUnread   = "violet:unreadable"
	propGitNote  = "violet:git-note"
)

// maxRefProps bounds the referenced-in properties of one model.
const maxRefProps = 50

// BOM builds a CycloneDX inventory of the result: models (files, folders,
// snapshots and referenced hub and hosted models) as machine-learning-model
// components, the ML packages of dependency files as library components,
// and notebooks as file components. Owners are authors (git) and
// violet:owner properties (all).
func BOM(r *Result, toolVersion string) *cdx.BOM {
	b := cdx.NewBOM()
	b.SerialNumber = "urn:uuid:" + newUUID()
	b.Metadata = &cdx.Metadata{
		Timestamp: time.Now().UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: "violet", Version: toolVersion,
		}}},
		Component: &cdx.Component{BOMRef: "root", Type: cdx.ComponentTypeApplication, Name: filepath.Base(filepath.Clean(r.Root))},
	}
	var meta []cdx.Property
	for _, e := range r.Unreadable {
		meta = append(meta, cdx.Property{Name: propUnread, Value: e.Path + ": " + e.Error})
	}
	if r.GitNote != "" {
		meta = append(meta, cdx.Property{Name: propGitNote, Value: r.GitNote})
	}
	if len(meta) > 0 {
		b.Metadata.Properties = &meta
	}
	var comps []cdx.Component
	refs := map[string]bool{}
	add := func(c cdx.Component) {
		for n := 2; refs[c.BOMRef]; n++ {
			c.BOMRef = fmt.Sprintf("%s#%d", strings.SplitN(c.BOMRef, "#", 2)[0], n)
		}
		refs[c.BOMRef] = true
		comps = append(comps, c)
	}
	libs := map[string]*cdx.Component{}
	var libOrder []string
	for i := range r.Assets {
		a := &r.Assets[i]
		switch a.Kind {
		case KindModelFile, KindArchive, KindModelFolder, KindHFCache:
			add(modelComponent(a))
		case KindNotebook:
			c := cdx.Component{BOMRef: "file:" + a.Path, Type: cdx.ComponentTypeFile, Name: a.Path}
			props := []cdx.Property{{Name: propKind, Value: string(a.Kind)}}
			for _, l := range a.Libraries {
				props = append(props, cdx.Property{Name: propLibrary, Value: l})
			}
			setOwners(&c, a.Owners, props)
			add(c)
		case KindDependency:
			for _, p := range a.Packages {
				key := p.Name + "\x00" + p.Spec
				c, ok := libs[key]
				if !ok {
					c = libraryComponent(p)
					libs[key] = c
					libOrder = append(libOrder, key)
				}
				*c.Properties = append(*c.Properties, cdx.Property{Name: propDeclared, Value: a.Path})
			}
		}
	}
	for _, k := range libOrder {
		add(*libs[k])
	}
	for _, c := range referencedModels(r) {
		add(c)
	}
	b.Components = &comps
	return b
}

// modelComponent describes a model file, archive, folder or snapshot.
func modelComponent(a *Asset) cdx.Component {
	c := cdx.Component{BOMRef: string(a.Kind) + ":" + a.Path, Type: cdx.ComponentTypeMachineLearningModel, Name: a.Path}
	props := []cdx.Property{{Name: propKind, Value: string(a.Kind)}, {Name: propPath, Value: a.Path}}
	if a.HubID != "" {
		c.Name, c.Version = a.HubID, a.Revision
		c.PackageURL = huggingfacePURL(a.HubID, a.Revision)
	}
	for _, f := range a.Formats {
		props = append(props, cdx.Property{Name: propFormat, Value: f})
	}
	for _, p := range [][2]string{{propType, a.Type}, {propArch, a.Architecture}, {propBase, a.BaseModel}} {
		if p[1] != "" {
			props = append(props, cdx.Property{Name: p[0], Value: p[1]})
		}
	}
	setOwners(&c, a.Owners, props)
	return c
}

// libraryComponent describes an ML package; the version is set when the
// spec pins one.
func libraryComponent(p Package) *cdx.Component {
	c := &cdx.Component{BOMRef: "pypi:" + p.Name, Type: cdx.ComponentTypeLibrary, Name: p.Name, PackageURL: "pkg:pypi/" + p.Name}
	if v, ok := strings.CutPrefix(p.Spec, "=="); ok && !strings.ContainsAny(v, ",;* ") {
		c.Version = v
		c.PackageURL += "@" + v
		c.BOMRef += "@" + v
	}
	props := []cdx.Property{{Name: propCategory, Value: p.Category}}
	if p.Spec != "" {
		props = append(props, cdx.Property{Name: propSpec, Value: p.Spec})
	}
	c.Properties = &props
	return c
}

// referencedModels are the distinct models named in code and configs.
func referencedModels(r *Result) []cdx.Component {
	type entry struct {
		c     cdx.Component
		props []cdx.Property
	}
	byID := map[[2]string]*entry{}
	var order [][2]string
	for i := range r.Assets {
		a := &r.Assets[i]
		for _, ref := range a.References {
			if ref.Provider == ProviderLocal {
				continue
			}
			k := [2]string{ref.Provider, ref.Model}
			e, ok := byID[k]
			if !ok {
				e = &entry{c: cdx.Component{BOMRef: "model:" + ref.Provider + "/" + ref.Model, Type: cdx.ComponentTypeMachineLearningModel, Name: ref.Model}}
				if ref.Provider == ProviderHuggingFace {
					e.c.PackageURL = huggingfacePURL(ref.Model, "")
				}
				e.props = []cdx.Property{{Name: propKind, Value: string(KindReference)}, {Name: propProvider, Value: ref.Provider}}
				byID[k] = e
				order = append(order, k)
			}
			if !hasProp(e.props, propRole, ref.Role) {
				e.props = append(e.props, cdx.Property{Name: propRole, Value: ref.Role})
			}
			if countProp(e.props, propRefIn) < maxRefProps {
				e.props = append(e.props, cdx.Property{Name: propRefIn, Value: fmt.Sprintf("%s:%d", a.Path, ref.Line)})
			}
		}
	}
	out := make([]cdx.Component, 0, len(order))
	for _, k := range order {
		e := byID[k]
		props := e.props
		e.c.Properties = &props
		out = append(out, e.c)
	}
	return out
}

func hasProp(props []cdx.Property, name, value string) bool {
	for _, p := range props {
		if p.Name == name && p.Value == value {
			return true
		}
	}
	return false
}

func countProp(props []cdx.Property, name string) int {
	n := 0
	for _, p := range props {
		if p.Name == name {
			n++
		}
	}
	return n
}

// huggingfacePURL is the package URL of a hub model: pkg:huggingface/ORG/NAME@REV.
func huggingfacePURL(id, rev string) string {
	p := "pkg:huggingface/" + id
	if rev != "" {
		p += "@" + rev
	}
	return p
}

// setOwners records owners as properties and git committers as authors.
func setOwners(c *cdx.Component, owners []Owner, props []cdx.Property) {
	var authors []cdx.OrganizationalContact
	for _, o := range owners {
		props = append(props, cdx.Property{Name: propOwner, Value: o.Name})
		if o.Source == OwnerGit {
			name, email := splitAuthor(o.Name)
			authors = append(authors, cdx.OrganizationalContact{Name: name, Email: email})
		}
	}
	if len(authors) > 0 {
		c.Authors = &authors
	}
	c.Properties = &props
}

// splitAuthor splits "Name <email>".
func splitAuthor(s string) (string, string) {
	i := strings.LastIndex(s, " <")
	if i < 0 || !strings.HasSuffix(s, ">") {
		return s, ""
	}
	email := s[i+2 : len(s)-1]
	if strings.Count(email, "@") != 1 || strings.ContainsAny(email, " <>") || strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@") {
		return s, ""
	}
	return s[:i], email
}

// WriteCycloneDX writes the inventory BOM as CycloneDX 1.6 JSON.
func WriteCycloneDX(w io.Writer, r *Result, toolVersion string) error {
	enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	return enc.EncodeVersion(BOM(r, toolVersion), cdx.SpecVersion1_6)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
