package bom

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/violet-mlsecops/violet/deps"
)

// CycloneDXOptions are the choices of a CycloneDX BOM.
type CycloneDXOptions struct {
	// Version is the specification version: cdx.SpecVersion1_6 (the
	// default, when zero) or cdx.SpecVersion1_7.
	Version cdx.SpecVersion
	// Timestamp is the BOM's creation time; zero leaves it out, which
	// keeps a BOM of the same model byte for byte the same.
	Timestamp time.Time
	// ToolVersion is Violet's version, recorded as the tool that made it.
	ToolVersion string
}

// Document is a CycloneDX BOM with what cyclonedx-go cannot hold: the
// properties of model cards (modelCard.properties, in the specification
// since 1.5), by the bom-ref of their component.
type Document struct {
	// BOM is the BOM as cyclonedx-go models it.
	BOM *cdx.BOM
	// ModelCardProperties are the modelCard.properties of the components,
	// by bom-ref.
	ModelCardProperties map[string][]cdx.Property
}

// modelRef is the bom-ref of the model's component.
const modelRef = "model"

// BuildCycloneDX makes the ML-BOM of m: the model as the BOM's subject
// (metadata.component), of type machine-learning-model, with its files as
// subcomponents carrying their SHA-256, its model card, its base models
// as pedigree ancestors, its datasets as data components, its Python
// dependencies as libraries, and the scanner's findings as
// vulnerabilities.
func BuildCycloneDX(m *Model, opts CycloneDXOptions) *Document {
	b := cdx.NewBOM()
	b.SerialNumber = "urn:uuid:" + uuidOf(m)
	b.Metadata = &cdx.Metadata{
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "violet",
			Group: "violet-mlsecops", Version: opts.ToolVersion}}},
	}
	if !opts.Timestamp.IsZero() {
		b.Metadata.Timestamp = opts.Timestamp.UTC().Format(time.RFC3339)
	}
	doc := &Document{BOM: b, ModelCardProperties: map[string][]cdx.Property{}}
	model := modelComponent(m)
	card, props := modelCard(m)
	model.ModelCard = card
	if len(props) > 0 {
		doc.ModelCardProperties[modelRef] = props
	}
	b.Metadata.Component = &model

	var components []cdx.Component
	var deps []string
	for _, d := range m.Datasets {
		c := datasetComponent(d)
		components = append(components, c)
		deps = append(deps, c.BOMRef)
	}
	for _, p := range m.Dependencies {
		c := cdx.Component{Type: cdx.ComponentTypeLibrary, BOMRef: "pkg:" + p.Name, Name: p.Name, Version: p.Version, PackageURL: p.PURL}
		if p.PURL != "" {
			c.BOMRef = p.PURL
		}
		if p.Source != "" {
			c.Properties = &[]cdx.Property{{Name: "violet:source", Value: p.Source}}
		}
		components = append(components, c)
		deps = append(deps, c.BOMRef)
	}
	if len(components) > 0 {
		b.Components = &components
	}
	graph := []cdx.Dependency{{Ref: modelRef, Dependencies: &deps}}
	for _, ref := range deps {
		graph = append(graph, cdx.Dependency{Ref: ref})
	}
	b.Dependencies = &graph
	if vulns := vulnerabilities(m); len(vulns) > 0 {
		b.Vulnerabilities = &vulns
	}
	return doc
}

// uuidOf is a version 4-shaped UUID derived from the model's identity and
// files, so that the same model gets the same serial number.
func uuidOf(m *Model) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", m.Group, m.Name, m.Version)
	for _, f := range m.Files {
		fmt.Fprintf(h, "%s\x00%s\x00", f.Path, f.SHA256)
	}
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	x := hex.EncodeToString(u)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// modelComponent is the model itself, with its files.
func modelComponent(m *Model) cdx.Component {
	c := cdx.Component{Type: cdx.ComponentTypeMachineLearningModel, BOMRef: modelRef, Name: m.Name, Group: m.Group,
		Version: m.Version, PackageURL: m.PURL, Description: m.Description}
	if lic := licenses(m.Licenses); lic != nil {
		c.Licenses = lic
	}
	if len(m.Authors) > 0 {
		var authors []cdx.OrganizationalContact
		for _, a := range m.Authors {
			authors = append(authors, cdx.OrganizationalContact{Name: a})
		}
		c.Authors = &authors
	}
	if m.Group != "" {
		c.Supplier = &cdx.OrganizationalEntity{Name: m.Group}
		if m.PURL != "" {
			urls := []string{"https://huggingface.co/" + m.Group}
			c.Supplier.URL = &urls
		}
	}
	if m.PURL != "" {
		refs := []cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: "https://huggingface.co/" + m.Group + "/" + m.Name}}
		c.ExternalReferences = &refs
	}
	var files []cdx.Component
	for _, f := range m.Files {
		fc := cdx.Component{Type: cdx.ComponentTypeFile, BOMRef: "file:" + f.Path, Name: f.Path,
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}},
			Properties: &[]cdx.Property{{Name: "violet:file:kind", Value: f.Kind}, {Name: "violet:file:size", Value: strconv.FormatInt(f.Size, 10)}}}
		files = append(files, fc)
	}
	if len(files) > 0 {
		c.Components = &files
	}
	if len(m.Files) == 1 && m.Files[0].Kind == KindWeights {
		c.Hashes = &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: m.Files[0].SHA256}}
	}
	var ancestors []cdx.Component
	for _, base := range m.BaseModels {
		a := cdx.Component{Type: cdx.ComponentTypeMachineLearningModel, BOMRef: "base:" + base.ID, Name: base.ID, PackageURL: base.PURL,
			Properties: &[]cdx.Property{{Name: "violet:base-model:relation", Value: base.Relation}}}
		if org, name, ok := strings.Cut(base.ID, "/"); ok && base.PURL != "" {
			a.Group, a.Name = org, name
		}
		ancestors = append(ancestors, a)
	}
	if len(ancestors) > 0 {
		c.Pedigree = &cdx.Pedigree{Ancestors: &ancestors}
	}
	var props []cdx.Property
	for _, l := range m.Languages {
		props = append(props, cdx.Property{Name: "violet:language", Value: l})
	}
	for _, t := range m.Tags {
		props = append(props, cdx.Property{Name: "violet:tag", Value: t})
	}
	if len(props) > 0 {
		c.Properties = &props
	}
	return c
}

// licenses are SPDX ids as ids, other licenses as names.
func licenses(ls []string) *cdx.Licenses {
	if len(ls) == 0 {
		return nil
	}
	var out cdx.Licenses
	for _, l := range ls {
		if IsSPDXLicense(l) {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{ID: l}})
		} else {
			out = append(out, cdx.LicenseChoice{License: &cdx.License{Name: l}})
		}
	}
	return &out
}

// datasetComponent is a dataset as a data component.
func datasetComponent(d Dataset) cdx.Component {
	ref := "dataset:" + d.Role + ":" + d.Name
	data := cdx.ComponentData{Type: cdx.ComponentDataTypeDataset, Name: d.Name}
	if d.URL != "" {
		data.Contents = &cdx.ComponentDataContents{URL: d.URL}
	}
	c := cdx.Component{Type: cdx.ComponentTypeData, BOMRef: ref, Name: d.Name, Data: &[]cdx.ComponentData{data}}
	props := []cdx.Property{{Name: "violet:dataset:role", Value: d.Role}}
	if d.Config != "" {
		props = append(props, cdx.Property{Name: "violet:dataset:config", Value: d.Config})
	}
	if d.Split != "" {
		props = append(props, cdx.Property{Name: "violet:dataset:split", Value: d.Split})
	}
	c.Properties = &props
	if d.URL != "" {
		c.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: d.URL}}
	}
	return c
}

// modelCard is the CycloneDX model card of m, and its properties (the
// configuration's parameters and the adapter's hyperparameters), which
// cyclonedx-go cannot hold.
func modelCard(m *Model) (*cdx.MLModelCard, []cdx.Property) {
	c := &m.Card
	params := &cdx.MLModelParameters{Task: c.Task, ArchitectureFamily: c.ArchitectureFamily, ModelArchitecture: c.Architecture}
	if c.Approach != "" {
		params.Approach = &cdx.MLModelParametersApproach{Type: cdx.MLModelParametersApproachType(c.Approach)}
	}
	var datasets []cdx.MLDatasetChoice
	for _, d := range m.Datasets {
		datasets = append(datasets, cdx.MLDatasetChoice{Ref: "dataset:" + d.Role + ":" + d.Name})
	}
	if len(datasets) > 0 {
		params.Datasets = &datasets
	}
	params.Inputs, params.Outputs = ioFormats(c.Inputs), ioFormats(c.Outputs)
	card := &cdx.MLModelCard{BOMRef: "model-card", ModelParameters: params}

	if len(c.Metrics) > 0 {
		var metrics []cdx.MLPerformanceMetric
		for _, mt := range c.Metrics {
			metrics = append(metrics, cdx.MLPerformanceMetric{Type: mt.Type, Value: mt.Value, Slice: mt.Dataset})
		}
		card.QuantitativeAnalysis = &cdx.MLQuantitativeAnalysis{PerformanceMetrics: &metrics}
	}
	cons := &cdx.MLModelCardConsiderations{Users: strs(c.Users), UseCases: strs(c.UseCases),
		TechnicalLimitations: strs(c.Limitations), PerformanceTradeoffs: strs(c.Tradeoffs)}
	if len(c.EthicalConsiderations) > 0 {
		var ec []cdx.MLModelCardEthicalConsideration
		for _, r := range c.EthicalConsiderations {
			ec = append(ec, cdx.MLModelCardEthicalConsideration{Name: r.Name, MitigationStrategy: r.Mitigation})
		}
		cons.EthicalConsiderations = &ec
	}
	if len(c.FairnessAssessments) > 0 {
		var fa []cdx.MLModelCardFairnessAssessment
		for _, f := range c.FairnessAssessments {
			fa = append(fa, cdx.MLModelCardFairnessAssessment{Harms: f})
		}
		cons.FairnessAssessments = &fa
	}
	cons.EnvironmentalConsiderations = environment(c.Environment)
	if *cons != (cdx.MLModelCardConsiderations{}) {
		card.Considerations = cons
	}

	var props []cdx.Property
	for _, p := range c.Parameters {
		props = append(props, cdx.Property{Name: "violet:config:" + p.Name, Value: p.Value})
	}
	if a := m.Adapter; a != nil {
		props = append(props, cdx.Property{Name: "violet:adapter:type", Value: a.Type})
		add := func(name string, v any, ok bool) {
			if ok {
				props = append(props, cdx.Property{Name: "violet:adapter:" + name, Value: fmt.Sprint(v)})
			}
		}
		add("rank", a.Rank, a.Rank != 0)
		add("alpha", a.Alpha, a.Alpha != 0)
		add("dropout", a.Dropout, a.Dropout != 0)
		add("target-modules", strings.Join(a.TargetModules, ","), len(a.TargetModules) > 0)
		add("task-type", a.TaskType, a.TaskType != "")
		add("base-model", a.BaseModel, a.BaseModel != "")
		add("library", a.Library, a.Library != "")
	}
	if c.TrainingProcedure != "" {
		props = append(props, cdx.Property{Name: "violet:training-procedure", Value: c.TrainingProcedure})
	}
	return card, props
}

// strs is a list, or nil when empty.
func strs(s []string) *[]string {
	if len(s) == 0 {
		return nil
	}
	return &s
}

func ioFormats(fs []string) *[]cdx.MLInputOutputParameters {
	if len(fs) == 0 {
		return nil
	}
	var out []cdx.MLInputOutputParameters
	for _, f := range fs {
		out = append(out, cdx.MLInputOutputParameters{Format: f})
	}
	return &out
}

// environment is the training's environmental cost in the units of the
// specification: energy in kWh, CO2 in tonnes (tCO2eq). An energy
// consumption needs its energy; when a card gives only emissions, they
// are properties.
func environment(e *Environment) *cdx.MLModelCardEnvironmentalConsiderations {
	if e == nil {
		return nil
	}
	out := &cdx.MLModelCardEnvironmentalConsiderations{}
	activity := cdx.MLModelEnergyConsumptionActivityTraining
	if strings.Contains(strings.ToLower(e.Activity), "fine") {
		activity = cdx.MLModelEnergyConsumptionActivityFineTuning
	}
	if e.EnergyKWh > 0 {
		provider := cdx.MLModelEnergyProvider{Organization: &cdx.OrganizationalEntity{Name: firstNonEmpty(e.CloudProvider, "unknown")},
			EnergySource: cdx.MLModelEnergySourceUnknown, EnergyProvided: &cdx.MLModelEnergyMeasure{Value: float32(e.EnergyKWh), Unit: cdx.MLModelEnergyUnitKWH}}
		ec := cdx.MLModelEnergyConsumption{Activity: activity, EnergyProviders: &[]cdx.MLModelEnergyProvider{provider},
			ActivityEnergyCost: cdx.MLModelEnergyMeasure{Value: float32(e.EnergyKWh), Unit: cdx.MLModelEnergyUnitKWH}}
		if e.CO2eqKg > 0 {
			ec.CO2CostEquivalent = &cdx.MLModelCO2Measure{Value: float32(e.CO2eqKg / 1000), Unit: cdx.MLModelCO2UnitTCO2Eq}
		}
		out.EnergyConsumptions = &[]cdx.MLModelEnergyConsumption{ec}
	}
	var props []cdx.Property
	add := func(name, v string) {
		if v != "" && v != "0" {
			props = append(props, cdx.Property{Name: "violet:environment:" + name, Value: v})
		}
	}
	add("activity", string(activity))
	add("co2-equivalent-tco2eq", strconv.FormatFloat(e.CO2eqKg/1000, 'g', -1, 64))
	add("hardware", e.Hardware)
	add("hours-used", strconv.FormatFloat(e.HoursUsed, 'g', -1, 64))
	add("cloud-provider", e.CloudProvider)
	add("region", e.Region)
	add("source", e.Source)
	if len(props) > 0 {
		out.Properties = &props
	}
	return out
}

// vulnerabilities are the scanner's findings, affecting the files they are
// in, with their ATLAS techniques as references.
func vulnerabilities(m *Model) []cdx.Vulnerability {
	var out []cdx.Vulnerability
	violet := &cdx.Source{Name: "Violet", URL: "https://github.com/violet-mlsecops/violet/blob/main/docs/rules.md"}
	for i, f := range m.Findings {
		v := cdx.Vulnerability{BOMRef: fmt.Sprintf("finding-%d", i+1), ID: f.Rule, Source: violet,
			Ratings:     &[]cdx.VulnerabilityRating{{Source: violet, Severity: deps.CycloneDXSeverity(f.Severity), Method: cdx.ScoringMethodOther}},
			Description: f.Message, Detail: f.Evidence, Recommendation: f.Remediation}
		if loc := f.Location.String(); loc != "" {
			v.Detail = strings.TrimSpace(v.Detail + "\nLocation: " + loc)
		}
		var refs []cdx.VulnerabilityReference
		for _, t := range f.ATLAS {
			refs = append(refs, cdx.VulnerabilityReference{ID: t, Source: &cdx.Source{Name: "MITRE ATLAS", URL: "https://atlas.mitre.org/techniques/" + t}})
		}
		if len(refs) > 0 {
			v.References = &refs
		}
		v.Affects = &[]cdx.Affects{{Ref: affectedRef(m, f.Location.Path)}}
		out = append(out, v)
	}
	return out
}

// affectedRef is the bom-ref of the file a finding is in, or the model's.
func affectedRef(m *Model, p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	for _, f := range m.Files {
		if p == f.Path || strings.HasSuffix(p, "/"+f.Path) {
			return "file:" + f.Path
		}
	}
	return modelRef
}

// Encode writes the document as indented CycloneDX JSON of version v
// (1.6 when zero), with the model cards' properties.
func (d *Document) Encode(w io.Writer, v cdx.SpecVersion) error {
	if v == 0 {
		v = cdx.SpecVersion1_6
	}
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	if err := enc.EncodeVersion(d.BOM, v); err != nil {
		return err
	}
	var doc map[string]any
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if len(d.ModelCardProperties) > 0 {
		walkComponents(doc, func(c map[string]any) {
			ref, _ := c["bom-ref"].(string)
			props, ok := d.ModelCardProperties[ref]
			card, isMap := c["modelCard"].(map[string]any)
			if ok && isMap {
				card["properties"] = props
			}
		})
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

// walkComponents calls fn on every component object of a BOM document:
// metadata.component, components, and their nested components and
// pedigree ancestors.
func walkComponents(doc map[string]any, fn func(map[string]any)) {
	var visit func(v any)
	visit = func(v any) {
		c, ok := v.(map[string]any)
		if !ok {
			return
		}
		fn(c)
		if list, ok := c["components"].([]any); ok {
			for _, x := range list {
				visit(x)
			}
		}
		if p, ok := c["pedigree"].(map[string]any); ok {
			for _, k := range []string{"ancestors", "descendants", "variants"} {
				if list, ok := p[k].([]any); ok {
					for _, x := range list {
						visit(x)
					}
				}
			}
		}
	}
	if md, ok := doc["metadata"].(map[string]any); ok {
		visit(md["component"])
	}
	if list, ok := doc["components"].([]any); ok {
		for _, x := range list {
			visit(x)
		}
	}
}

// DecodeCycloneDX reads a CycloneDX JSON BOM, keeping the model cards'
// properties that cyclonedx-go drops.
func DecodeCycloneDX(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return nil, err
	}
	b := &cdx.BOM{}
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(b); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	d := &Document{BOM: b, ModelCardProperties: map[string][]cdx.Property{}}
	var perr error
	walkComponents(doc, func(c map[string]any) {
		card, ok := c["modelCard"].(map[string]any)
		if !ok || card["properties"] == nil {
			return
		}
		raw, _ := json.Marshal(card["properties"])
		var props []cdx.Property
		if err := json.Unmarshal(raw, &props); err != nil {
			perr = err
			return
		}
		ref, _ := c["bom-ref"].(string)
		d.ModelCardProperties[ref] = props
	})
	return d, perr
}

// WriteCycloneDX writes the CycloneDX ML-BOM of m.
func WriteCycloneDX(w io.Writer, m *Model, opts CycloneDXOptions) error {
	return BuildCycloneDX(m, opts).Encode(w, opts.Version)
}
