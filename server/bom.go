package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/violet-mlsecops/violet/store"
)

// bomContent is what the server takes from an ML-BOM: the model's files
// (to bind the BOM to a version) and its lineage.
type bomContent struct {
	Files   []store.File
	Lineage []store.LineageLink
}

// readBOM reads a CycloneDX JSON BOM or an SPDX 3 JSON-LD document.
func readBOM(data []byte) (bomContent, error) {
	var probe struct {
		BOMFormat string          `json:"bomFormat"`
		Context   json.RawMessage `json:"@context"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return bomContent{}, fail(http.StatusBadRequest, "invalid_bom", "not a CycloneDX or SPDX 3 JSON BOM")
	}
	var b bomContent
	var err error
	switch {
	case probe.BOMFormat == "CycloneDX":
		b, err = readCycloneDX(data)
	case bytes.Contains(probe.Context, []byte("spdx.org/rdf/3.")):
		b, err = readSPDX3(data)
	default:
		return bomContent{}, fail(http.StatusBadRequest, "invalid_bom", "not a CycloneDX or SPDX 3 JSON BOM")
	}
	if err != nil {
		return bomContent{}, err
	}
	switch {
	case len(b.Files) > store.MaxVersionFiles:
		return bomContent{}, fail(http.StatusRequestEntityTooLarge, "too_large", "the BOM lists %d files, more than %d", len(b.Files), store.MaxVersionFiles)
	case len(b.Lineage) > store.MaxLineage:
		return bomContent{}, fail(http.StatusRequestEntityTooLarge, "too_large", "the BOM gives %d lineage links, more than %d", len(b.Lineage), store.MaxLineage)
	}
	for _, f := range b.Files {
		if f.SHA256 == "" {
			return bomContent{}, fail(http.StatusUnprocessableEntity, "evidence_mismatch", "the BOM's file %q has no SHA-256", clipText(f.Path))
		}
	}
	b.Lineage = uniqueLineage(b.Lineage)
	return b, nil
}

// maxBOMDepth bounds the nesting of CycloneDX components.
const maxBOMDepth = 32

// cdxComponent is what readCycloneDX reads of a CycloneDX component.
type cdxComponent struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Group  string `json:"group"`
	PURL   string `json:"purl"`
	Hashes []struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	} `json:"hashes"`
	Properties []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"properties"`
	ExternalReferences []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"externalReferences"`
	Pedigree *struct {
		Ancestors []cdxComponent `json:"ancestors"`
	} `json:"pedigree"`
	Components []cdxComponent `json:"components"`
}

func (c *cdxComponent) sha256() string {
	for _, h := range c.Hashes {
		if h.Alg == "SHA-256" {
			return strings.ToLower(h.Content)
		}
	}
	return ""
}

// property is the value of the component's first property named name.
func (c *cdxComponent) property(name string) string {
	for _, p := range c.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func (c *cdxComponent) size() int64 {
	if n, err := strconv.ParseInt(c.property("violet:file:size"), 10, 64); err == nil && n >= 0 {
		return n
	}
	return 0
}

// id is the component's name with its group ("org/name").
func (c *cdxComponent) id() string {
	if c.Group != "" {
		return c.Group + "/" + c.Name
	}
	return c.Name
}

// ref is the component's package URL, else its first external reference.
func (c *cdxComponent) ref() string {
	if c.PURL != "" {
		return c.PURL
	}
	if len(c.ExternalReferences) > 0 {
		return c.ExternalReferences[0].URL
	}
	return ""
}

// readCycloneDX reads the files of a CycloneDX BOM (components of type
// file, nested ones too, in metadata.component as well; a BOM of a
// single-file model without file components gives the model component's
// SHA-256 as the file "."), and its lineage: the model component's
// pedigree ancestors (violet:base-model:relation says how, else "base")
// and the data components (violet:dataset:role says how, else "data").
func readCycloneDX(data []byte) (bomContent, error) {
	var doc struct {
		Metadata struct {
			Component *cdxComponent `json:"component"`
		} `json:"metadata"`
		Components []cdxComponent `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return bomContent{}, fail(http.StatusBadRequest, "invalid_bom", "not a CycloneDX JSON BOM: %v", err)
	}
	var b bomContent
	var walk func(cs []cdxComponent, depth int) error
	walk = func(cs []cdxComponent, depth int) error {
		if depth > maxBOMDepth {
			return fail(http.StatusUnprocessableEntity, "invalid_bom", "components nested more than %d deep", maxBOMDepth)
		}
		for _, c := range cs {
			switch c.Type {
			case "file":
				b.Files = append(b.Files, store.File{Path: c.Name, SHA256: c.sha256(), Size: c.size()})
			case "data":
				b.Lineage = append(b.Lineage, store.LineageLink{Kind: store.LineageDataset,
					Relation: orDefault(c.property("violet:dataset:role"), "data"), Name: c.id(), Ref: c.ref()})
			}
			if err := walk(c.Components, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	// violet bom nests the files in the model's component, in metadata.
	if m := doc.Metadata.Component; m != nil {
		if err := walk([]cdxComponent{*m}, 0); err != nil {
			return bomContent{}, err
		}
		if m.Pedigree != nil {
			for _, a := range m.Pedigree.Ancestors {
				b.Lineage = append(b.Lineage, store.LineageLink{Kind: store.LineageModel,
					Relation: orDefault(a.property("violet:base-model:relation"), "base"), Name: a.id(), Ref: a.ref()})
			}
		}
	}
	if err := walk(doc.Components, 0); err != nil {
		return bomContent{}, err
	}
	if len(b.Files) == 0 && doc.Metadata.Component != nil && doc.Metadata.Component.sha256() != "" {
		b.Files = append(b.Files, store.File{Path: ".", SHA256: doc.Metadata.Component.sha256()})
	}
	return b, nil
}

// spdxElement is what readSPDX3 reads of an element of the graph.
type spdxElement struct {
	Type          string   `json:"type"`
	ID            string   `json:"spdxId"`
	Name          string   `json:"name"`
	RootElement   []string `json:"rootElement"`
	PURL          string   `json:"software_packageUrl"`
	Download      string   `json:"software_downloadLocation"`
	VerifiedUsing []struct {
		Algorithm string `json:"algorithm"`
		HashValue string `json:"hashValue"`
	} `json:"verifiedUsing"`
	RelationshipType string   `json:"relationshipType"`
	From             string   `json:"from"`
	To               []string `json:"to"`
	Comment          string   `json:"comment"`
}

// spdxDatasetRelations are the SPDX relationships from a model to a
// dataset, with the lineage relation each is.
var spdxDatasetRelations = map[string]string{"trainedOn": "training", "testedOn": "evaluation"}

// readSPDX3 reads the files of an SPDX 3 document (software_File elements
// with a sha256 in verifiedUsing) and the lineage of its root element:
// models that are ancestorOf it or that it is descendantOf (a comment
// "relation: R", as violet bom writes it, says how, else "base"), and the
// datasets it is trainedOn or testedOn.
func readSPDX3(data []byte) (bomContent, error) {
	var doc struct {
		Graph []spdxElement `json:"@graph"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return bomContent{}, fail(http.StatusBadRequest, "invalid_bom", "not an SPDX 3 JSON-LD document: %v", err)
	}
	byID := map[string]*spdxElement{}
	var root string
	for i := range doc.Graph {
		e := &doc.Graph[i]
		if e.ID != "" {
			byID[e.ID] = e
		}
		if e.Type == "SpdxDocument" && len(e.RootElement) > 0 && root == "" {
			root = e.RootElement[0]
		}
	}
	var b bomContent
	model := func(id, relation string) {
		if e, ok := byID[id]; ok && e.Name != "" {
			b.Lineage = append(b.Lineage, store.LineageLink{Kind: store.LineageModel, Relation: relation, Name: e.Name,
				Ref: orDefault(e.PURL, e.Download)})
		}
	}
	for _, e := range doc.Graph {
		switch {
		case e.Type == "software_File":
			f := store.File{Path: e.Name}
			for _, h := range e.VerifiedUsing {
				if h.Algorithm == "sha256" {
					f.SHA256 = strings.ToLower(h.HashValue)
				}
			}
			b.Files = append(b.Files, f)
		case e.Type != "Relationship" || root == "":
		case e.RelationshipType == "ancestorOf" && contains(e.To, root):
			model(e.From, spdxRelation(e.Comment))
		case e.RelationshipType == "descendantOf" && e.From == root:
			for _, to := range e.To {
				model(to, spdxRelation(e.Comment))
			}
		case spdxDatasetRelations[e.RelationshipType] != "" && e.From == root:
			for _, to := range e.To {
				if d, ok := byID[to]; ok && d.Name != "" {
					b.Lineage = append(b.Lineage, store.LineageLink{Kind: store.LineageDataset,
						Relation: spdxDatasetRelations[e.RelationshipType], Name: d.Name, Ref: orDefault(d.PURL, d.Download)})
				}
			}
		}
	}
	return b, nil
}

// spdxRelation is the lineage relation a relationship's comment gives
// ("relation: adapter"), else "base".
func spdxRelation(comment string) string {
	if r, ok := strings.CutPrefix(comment, "relation: "); ok && r != "" {
		return r
	}
	return "base"
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// uniqueLineage makes the links storable (texts cleaned and cut to the
// store's bounds) and drops repeats and links without a name.
func uniqueLineage(in []store.LineageLink) []store.LineageLink {
	seen := map[store.LineageLink]bool{}
	var out []store.LineageLink
	for _, l := range in {
		l.Relation = cleanText(l.Relation, 64, false)
		l.Name = cleanText(l.Name, 512, false)
		l.Ref = cleanText(l.Ref, 2048, false)
		key := store.LineageLink{Kind: l.Kind, Relation: l.Relation, Name: l.Name}
		if l.Relation == "" || l.Name == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, l)
	}
	return out
}
